"""Insights: the relationship graph, the nightly job that scores it, and the quick reads commands use.

``job.refresh_insights`` computes (`crm-bot insights refresh`); ``read`` reads what it wrote.

* ``snapshot``     the store read into arrays with a few bulk queries
* ``graph``        the relationship graph (staff, customers, companies) and the warmest paths through it
* ``centrality``   PageRank, betweenness and communities of the account graph
* ``features``     what the models see of each customer: behaviour and conversation text
* ``risk``         the churn-risk model and its reasons
* ``similar``      similar customers (`/crm similar`)
* ``priorities``   who to call next and why (`/crm next`)
* ``reasons``      reasons as short phrases, English or Chinese
* ``job``          the nightly job: all of the above, written as ``customer_insight`` and ``insight_blob`` rows
* ``store``        the names and reading of those rows
* ``read``         the quick reads commands and digests use
* ``graph_image``  the `/crm graph` picture of a customer's neighbourhood
"""
