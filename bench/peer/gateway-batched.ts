// Hive Gateway as an expert runs it over the demo ERP (bench/peer.py copies this file into
// .cache/peer): CustomerOut.orders is resolved by a per-request DataLoader that asks the
// ERP for the orders of a whole batch of customers in one /orders call (`customer` is an
// array parameter, sent comma-separated) through the in-context SDK, reading every page.
// No response cache.
import { defineConfig } from '@graphql-hive/gateway';
import DataLoader from 'dataloader';

const PER_PAGE = 500; // the demo ERP's largest page
const ORDER_PAGE = '{ items { number customer status total currency } next_page }';

type Order = { number: string; customer: string; status: string; total: string; currency: string };
type OrderPage = { items: Order[]; next_page: number | null };

const loaders = new WeakMap<object, DataLoader<string, Order[]>>();

function ordersOf(context: any): DataLoader<string, Order[]> {
  let loader = loaders.get(context);
  if (loader === undefined) {
    loader = new DataLoader<string, Order[]>(async (customers) => {
      const byCustomer = new Map<string, Order[]>(customers.map((c) => [c, []]));
      let page: number | null = 1;
      while (page !== null) {
        const result: OrderPage = await context.ERP.Query.list_orders_orders_get({
          root: {},
          args: { customer: [...customers], per_page: PER_PAGE, page },
          context,
          selectionSet: ORDER_PAGE,
        });
        for (const order of result.items) byCustomer.get(order.customer)?.push(order);
        page = result.next_page ?? null;
      }
      return customers.map((c) => byCustomer.get(c) ?? []);
    });
    loaders.set(context, loader);
  }
  return loader;
}

export const gatewayConfig = defineConfig({
  additionalTypeDefs: /* GraphQL */ `
    extend type CustomerOut {
      orders: [OrderOut!]!
    }
  `,
  additionalResolvers: {
    CustomerOut: {
      orders: {
        selectionSet: '{ number }',
        resolve: (customer: { number: string }, _args: unknown, context: any) =>
          ordersOf(context).load(customer.number),
      },
    },
  },
});
