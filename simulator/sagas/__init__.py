"""Sagas: one business process across services, undone step by step when it fails.

An order touches payment, stock, shipping and notification, each a service
with its own database; no transaction spans them. A saga runs the steps one
after another and, when one fails or does not answer in time, runs the
*compensating* action of every step already done (refund, release stock …).
``service`` is one such service, a small state machine over log topics;
``manager`` is the process manager that starts sagas, tracks them and, under
orchestration, issues the commands; ``protocol`` is the message vocabulary.
"""
