"""Understanding free text, English and Chinese, without a hosted model.

- ``notes``: a staff member's sentence ("Called Wang Wei at Globex yesterday 4pm, follow up next
  Tuesday") → a draft of the actions it implies (log, remind, deal), to confirm before storing.
- ``intent``: a customer's message → intent, sentiment, urgency, products and amounts.

Everything here is pure: no database, no chat SDK, no import from bot/, handlers/ or
integrations/. Dates and customer lookups come in as callables from the caller.
"""
