"""The GraphQL documents of the demo's financial overview: the sample query's fields, one
customer's overview and the overview of many customers by key. The end-to-end tests and
the overview benchmark send exactly these."""

OVERVIEW_FIELDS = """
  asOf
  openBalance { amount currency }
  overdueAmount { amount currency }
  overdueCount
  revenueYearToDate { amount currency }
  revenueSamePeriodLastYear { amount currency }
  openOrdersValue { amount currency }
  creditLimit { amount currency }
  creditAvailable { amount currency }
  hoursThisMonth
  unbilledHours
"""

CUSTOMER = """
query Customer($system: String!, $key: String!) {
  customer(system: $system, key: $key) {
    id
    keys { system key }
    account { name owner segment contacts { name email } }
    erp { key name currency creditLimit { amount currency } }
    financialOverview { OVERVIEW }
  }
}
""".replace("OVERVIEW", OVERVIEW_FIELDS)

CUSTOMERS_BY_KEY = """
query Many($system: String!, $keys: [String!]!) {
  customersByKey(system: $system, keys: $keys) {
    keys { system key }
    account { name segment }
    erp { name creditLimit { amount currency } }
    financialOverview { OVERVIEW }
  }
}
""".replace("OVERVIEW", OVERVIEW_FIELDS)
