// A small SAP-style sales and distribution model: business partners, products, sales
// orders with items, billing documents. Names and codes follow SAP's public APIs
// (API_BUSINESS_PARTNER, API_SALES_ORDER_SRV, API_BILLING_DOCUMENT_SRV).
namespace sap.sd;

using { managed } from '@sap/cds/common';

entity BusinessPartners {
  key BusinessPartner      : String(10);
      BusinessPartnerFullName : String(80);
      Currency             : String(3);
      CreditLimitAmount    : Decimal(15, 2);
      Country              : String(3);
      TaxNumber1           : String(20);
      CashDiscount1Percent : Decimal(5, 2);
      PaymentTermsDays     : Integer;
}

entity Products {
  key Product            : String(40);
      ProductDescription : String(80);
      BaseUnit           : String(3);
      NetPriceAmount     : Decimal(15, 2);
      Currency           : String(3);
      StockQuantity      : Decimal(13, 3);
}

// OverallSDProcessStatus: A not yet processed, B partially processed, C completely
// processed (SAP's), and this test system's own D (in preparation, the only state whose
// items may be edited), Q (quotation) and X (rejected).
entity SalesOrders : managed {
  key SalesOrder             : String(20);
      SoldToParty            : String(10);
      SalesOrderDate         : Date;
      OverallSDProcessStatus : String(1);
      TotalNetAmount         : Decimal(15, 2);
      TotalTaxAmount         : Decimal(15, 2);
      TotalGrossAmount       : Decimal(15, 2);
      TaxRatePercent         : Decimal(5, 2);
      TransactionCurrency    : String(3);
      to_Item                : Composition of many SalesOrderItems on to_Item.SalesOrder = SalesOrder;
}

entity SalesOrderItems : managed {
  key SalesOrderItem        : String(30);
      SalesOrder            : String(20);
      Material              : String(40);
      SalesOrderItemText    : String(80);
      RequestedQuantity     : Decimal(13, 3);
      NetPriceAmount        : Decimal(15, 2);
      DiscountPercent       : Decimal(5, 2);
      NetAmount             : Decimal(15, 2);
      TransactionCurrency   : String(3);
      RequestedDeliveryDate : Date;
      to_SalesOrder         : Association to SalesOrders on to_SalesOrder.SalesOrder = SalesOrder;
}

// BillingDocumentType: F2 invoice, G2 credit memo, S1 cancellation.
// AccountingPostingStatus: A not posted, B posted and open, C cleared, X cancelled.
entity BillingDocuments {
  key BillingDocument         : String(20);
      BillingDocumentType     : String(4);
      AccountingPostingStatus : String(1);
      SoldToParty             : String(10);
      SalesOrder              : String(20);
      BillingDocumentDate     : Date;
      NetDueDate              : Date;
      TotalNetAmount          : Decimal(15, 2);
      TotalTaxAmount          : Decimal(15, 2);
      TotalGrossAmount        : Decimal(15, 2);
      OpenAmount              : Decimal(15, 2);
      TransactionCurrency     : String(3);
}
