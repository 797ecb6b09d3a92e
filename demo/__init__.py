"""Demo upstreams for Keylink: a fake ERP, CRM and timesheet system with seeded data.

See ``demo/API.md``. Entry points: ``demo.data.generate``, ``demo.runner.DemoUpstreams``,
``demo.links.demo_links`` and ``create_app`` in ``demo.erp``, ``demo.crm``, ``demo.timesheet``.
"""
