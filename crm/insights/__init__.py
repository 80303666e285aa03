"""Insights: the nightly job's cached results and the quick reads commands and digests use.

``crm.insights_job.refresh_insights`` computes; ``crm.insights.read`` reads.
"""
