"""Onboarding a company: browse upstream records, suggest and accept matches between
systems, find names in a system, and check that linked keys still exist upstream.

``normalise`` and ``scoring`` are pure (no I/O); ``browse``, ``suggestions``, ``names``
and ``dangling`` read the systems and the link map; ``graphql`` exposes them (admin).
"""
