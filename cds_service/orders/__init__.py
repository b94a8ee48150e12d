"""Order checks for kmt2a-order-select and kmt2a-order-sign (menin inhibitors, interactions, QTc, GO).

    order_select(call) / order_sign(call) -> cards      (handlers, see cds_service.hooks.call)
    order_checks(case) -> [order-check objects]          (the CLI's `orderChecks`, contract)
    order_cache.stats()                                  (hits, misses, evaluations)
"""

from cds_service.orders.service import order_cache, order_checks, order_select, order_sign

__all__ = ["order_cache", "order_checks", "order_select", "order_sign"]
