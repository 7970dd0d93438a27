"""Every SQL query of the project, as named functions grouped by table.

Each function takes the session of the caller's transaction, so the caller
(pipeline, subscriptions) decides what is done all or nothing.
"""
