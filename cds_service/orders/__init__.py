"""Order checks for kmt2a-order-select and kmt2a-order-sign (menin inhibitors, interactions, QTc, GO).

    order_checks(case) -> [order-check objects]          (the CLI's `orderChecks`, contract)
    order_cache.stats()                                  (hits, misses, evaluations)
"""

from cds_service.orders.per_call import order_cache, order_checks

__all__ = ["order_cache", "order_checks"]
