using { sap.sd as sd } from '../db/schema';

// The same sales data under other names and a smaller page (3 rows): a second OData
// service Keylink reads through a second spec (tests/odata), nothing in the adapter
// knowing either set of names.
@path: '/shop/odata'
@requires: 'authenticated-user'
@cds.query.limit: { default: 3, max: 3 }
@readonly
service Webshop {
  entity Kunden as projection on sd.BusinessPartners {
    key BusinessPartner as KundenNr, BusinessPartnerFullName as Firma, Currency as Waehrung,
    CreditLimitAmount as Kreditlimit, Country as Land
  };
  entity Auftraege as projection on sd.SalesOrders {
    key SalesOrder as AuftragsNr, SoldToParty as KundenNr, SalesOrderDate as Datum,
    OverallSDProcessStatus as Stand, TotalNetAmount as Netto, TotalGrossAmount as Brutto,
    TransactionCurrency as Waehrung
  };
  entity Positionen as projection on sd.SalesOrderItems {
    key SalesOrderItem as PosNr, SalesOrder as AuftragsNr, Material as Artikel,
    SalesOrderItemText as Text, RequestedQuantity as Menge, NetPriceAmount as Preis,
    DiscountPercent as Rabatt, NetAmount as Betrag, TransactionCurrency as Waehrung,
    RequestedDeliveryDate as Liefertermin, modifiedAt as GeaendertAm
  };
  entity Rechnungen as projection on sd.BillingDocuments {
    key BillingDocument as RechnungsNr, BillingDocumentType as Art,
    AccountingPostingStatus as Buchung, SoldToParty as KundenNr, SalesOrder as AuftragsNr,
    BillingDocumentDate as Datum, NetDueDate as Faellig, TotalNetAmount as Netto,
    TotalGrossAmount as Brutto, OpenAmount as Offen, TransactionCurrency as Waehrung
  };
}

annotate Webshop.Positionen with { GeaendertAm @odata.etag };
