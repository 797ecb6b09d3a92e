// Server-side pricing of sales order items: NetAmount = quantity x unit price less the
// discount, the order's totals from its items; edits only while the order is in
// preparation (D). Money in integer cents (BigInt), never floating point.
const cds = require('@sap/cds')

const scaled = (value, places) => BigInt(Number(value ?? 0).toFixed(places).replace('.', ''))
const decimal = (units, places) => {
  const sign = units < 0n ? '-' : ''
  const digits = (units < 0n ? -units : units).toString().padStart(places + 1, '0')
  return `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}`
}
const divide = (a, b) => (2n * a + b) / (2n * b) // rounded half up for a >= 0

function netAmount(item) {
  const raw = scaled(item.RequestedQuantity, 3) * scaled(item.NetPriceAmount, 2) *
    (10000n - scaled(item.DiscountPercent, 2))
  return decimal(divide(raw, 1000n * 10000n), 2)
}

module.exports = class API_SALES_ORDER_SRV extends cds.ApplicationService {
  init() {
    const { A_SalesOrder, A_SalesOrderItem, A_Product } = this.entities

    const editableOrder = async (req, key) => {
      const order = await SELECT.one.from(A_SalesOrder, key)
      if (!order) return req.reject({ status: 404, code: 'SALES_ORDER_NOT_FOUND', message: `No sales order ${key}` })
      if (order.OverallSDProcessStatus !== 'D')
        return req.reject({ status: 409, code: 'SALES_ORDER_LOCKED', target: 'SalesOrder',
          message: `Sales order ${key} has status ${order.OverallSDProcessStatus}: items can no longer be changed` })
      return order
    }
    // an item that is gone is left to the runtime: 412 when an ETag was sent, else 404
    const itemOf = (req) => SELECT.one.from(A_SalesOrderItem, req.params.at(-1))
    const priced = async (req, item) => {
      if (item.NetPriceAmount == null) {
        const product = await SELECT.one.from(A_Product, item.Material)
        if (!product) return req.reject({ status: 400, code: 'MATERIAL_NOT_FOUND',
          target: 'Material', message: `No material ${item.Material}` })
        item.NetPriceAmount = product.NetPriceAmount
      }
      item.DiscountPercent ??= 0
      item.NetAmount = netAmount(item)
      return item
    }
    const totals = (order, items) => {
      const net = items.reduce((sum, i) => sum + scaled(i.NetAmount, 2), 0n)
      const tax = divide(net * scaled(order.TaxRatePercent, 2), 10000n)
      return { ...order, TotalNetAmount: decimal(net, 2), TotalTaxAmount: decimal(tax, 2),
        TotalGrossAmount: decimal(net + tax, 2), to_Item: items }
    }
    const itemsOf = (order) => SELECT.from(A_SalesOrderItem).where({ SalesOrder: order })

    this.before('CREATE', A_SalesOrderItem, async (req) => {
      const order = await editableOrder(req, req.data.SalesOrder ?? req.params[0]?.SalesOrder ?? req.params[0])
      if (!order) return
      const last = await SELECT.one.columns('SalesOrderItem').from(A_SalesOrderItem)
        .where({ SalesOrder: order.SalesOrder }).orderBy('SalesOrderItem desc')
      const next = last ? Number(last.SalesOrderItem.split('-').pop()) + 10 : 10
      req.data.SalesOrder = order.SalesOrder
      req.data.SalesOrderItem = `${order.SalesOrder}-${String(next).padStart(6, '0')}`
      req.data.TransactionCurrency = order.TransactionCurrency
      await priced(req, req.data)
    })
    this.before('UPDATE', A_SalesOrderItem, async (req) => {
      const item = await itemOf(req)
      if (!item || !(await editableOrder(req, item.SalesOrder))) return
      const merged = { ...item, ...req.data }
      if (req.data.NetPriceAmount === undefined) merged.NetPriceAmount = item.NetPriceAmount
      req.data.NetAmount = (await priced(req, merged)).NetAmount
    })
    this.before('DELETE', A_SalesOrderItem, async (req) => {
      const item = await itemOf(req)
      if (item) await editableOrder(req, item.SalesOrder)
      req._order = item?.SalesOrder
    })
    const refresh = async (order) => {
      const header = await SELECT.one.from(A_SalesOrder, order)
      const { to_Item, ...sums } = totals(header, await itemsOf(order))
      await UPDATE(A_SalesOrder, order).with({ TotalNetAmount: sums.TotalNetAmount,
        TotalTaxAmount: sums.TotalTaxAmount, TotalGrossAmount: sums.TotalGrossAmount })
    }
    this.after(['CREATE', 'UPDATE'], A_SalesOrderItem, async (item, req) => {
      const order = item?.SalesOrder ?? (await SELECT.one.from(A_SalesOrderItem, req.params.at(-1)))?.SalesOrder
      if (order) await refresh(order)
    })
    this.after('DELETE', A_SalesOrderItem, async (_, req) => { if (req._order) await refresh(req._order) })

    this.on('PreviewItem', A_SalesOrder, async (req) => {
      const order = await editableOrder(req, req.params.at(-1))
      if (!order) return
      const item = await priced(req, { ...req.data, SalesOrder: order.SalesOrder, SalesOrderItem: '',
        TransactionCurrency: order.TransactionCurrency })
      if (!item) return
      return totals(order, [...(await itemsOf(order.SalesOrder)), item])
    })
    this.on('PreviewChange', A_SalesOrderItem, async (req) => {
      const item = await itemOf(req)
      if (!item) return req.reject({ status: 404, code: 'SALES_ORDER_ITEM_NOT_FOUND', message: 'No such item' })
      const order = await editableOrder(req, item.SalesOrder)
      if (!order) return
      const changed = Object.fromEntries(Object.entries(req.data).filter(([, v]) => v != null))
      const merged = await priced(req, { ...item, ...changed })
      const items = (await itemsOf(order.SalesOrder)).map((i) => (i.SalesOrderItem === item.SalesOrderItem ? merged : i))
      return totals(order, items)
    })
    return super.init()
  }
}
