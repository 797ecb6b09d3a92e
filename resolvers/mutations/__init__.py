"""Mutations: order-line edits forwarded to the ERP."""
