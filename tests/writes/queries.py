"""GraphQL documents for the write tests."""

RESULT = """
  __typename
  ... on OrderLineSaved {
    idempotencyKey
    line { key orderKey productKey quantity discountPercent deliveryDate description version
           unitPrice { amount currency } amount { amount currency } }
    order { key status total { amount currency } totalUntaxed { amount currency } }
  }
  ... on OrderLineRemoved {
    idempotencyKey removedLine { key version }
    order { key total { amount currency } totalUntaxed { amount currency } }
  }
  ... on EditProblem { code message }
  ... on OrderLineRejected { field }
  ... on VersionConflict { current { key version quantity } }
  ... on OutcomeUnknown { idempotencyKey }
"""

UPDATE = (
    "mutation($input: UpdateOrderLineInput!, $key: String) {"
    " updateOrderLine(input: $input, idempotencyKey: $key) {" + RESULT + "} }"
)
ADD = (
    "mutation($input: AddOrderLineInput!, $key: String) {"
    " addOrderLine(input: $input, idempotencyKey: $key) {" + RESULT + "} }"
)
REMOVE = (
    "mutation($input: RemoveOrderLineInput!, $key: String) {"
    " removeOrderLine(input: $input, idempotencyKey: $key) {" + RESULT + "} }"
)
PREVIEW = """
query($input: PreviewOrderLineInput!) {
  previewOrderLine(input: $input) {
    __typename
    ... on OrderLinePreview {
      line { quantity amount { amount currency } unitPrice { amount currency }
             availability { productKey onHand availableFrom } }
      order { total { amount currency } }
    }
    ... on EditProblem { code message }
  }
}
"""
ORDER_LINES = """
query($key: String!) {
  customer(system: "erp", key: $key) {
    orders(status: [DRAFT]) { key lines { key version quantity } }
    financialOverview { openOrdersValue { amount currency } }
  }
}
"""
AUDIT = """
query($order: OrderRef!) {
  auditTrail(order: $order) {
    actor operation orderKey lineKey fields idempotencyKey replay outcome before after
  }
}
"""
