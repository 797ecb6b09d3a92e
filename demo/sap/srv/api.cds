using { sap.sd as sd } from '../db/schema';

// The SAP-style API: entity sets named as SAP's A_* API entities, server-driven paging at
// 7 rows, ETags on order items, Basic auth (package.json cds.requires.auth).
@path: '/sap/opu/odata4/API_SALES_ORDER_SRV'
@requires: 'authenticated-user'
@cds.query.limit: { default: 7, max: 7 }
service API_SALES_ORDER_SRV {
  @readonly entity A_BusinessPartner as projection on sd.BusinessPartners;
  @readonly entity A_Product as projection on sd.Products;
  @readonly entity A_BillingDocument as projection on sd.BillingDocuments;

  entity A_SalesOrder as projection on sd.SalesOrders {
    *, to_Item : redirected to A_SalesOrderItem
  } actions {
    // prices a new item as adding it would, keeping nothing
    action PreviewItem(Material : String, RequestedQuantity : Decimal(13, 3),
                       DiscountPercent : Decimal(5, 2), NetPriceAmount : Decimal(15, 2),
                       RequestedDeliveryDate : Date, SalesOrderItemText : String)
      returns A_SalesOrder;
  };

  entity A_SalesOrderItem as projection on sd.SalesOrderItems {
    *, to_SalesOrder : redirected to A_SalesOrder
  } actions {
    // prices a change of this item as making it would, keeping nothing
    action PreviewChange(RequestedQuantity : Decimal(13, 3), DiscountPercent : Decimal(5, 2),
                         NetPriceAmount : Decimal(15, 2), RequestedDeliveryDate : Date,
                         SalesOrderItemText : String)
      returns A_SalesOrder;
  };
}

annotate API_SALES_ORDER_SRV.A_SalesOrderItem with { modifiedAt @odata.etag };
