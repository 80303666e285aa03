"""The customer inbox, platform-neutral: chats bound to customers, tickets, and what is owed to whom.

One module per job:

* ``binding``  which customer a chat belongs to (invite, phone, a lead made from the chat and merged away)
* ``tickets``  each inbound message stored once on the customer's open ticket; staff's assign/resolve/reopen/reply
* ``outbox``   what the inbox owes a chat or the team's thread, queued in the same transaction as its cause
* ``ratings``  the customer's 1–5 rating of a resolved ticket
* ``erasure``  the customer's own /forgetme
* ``hours``    business hours and the out-of-office answer
* ``texts``    every sentence customers see, English and Chinese

Every function works inside the caller's session; nothing here imports a chat SDK.
"""
