"""The service layer: every state change of Portico is a function here.

Staff screens, the portal, the REST API and the scheduler call these functions; views stay thin. Each
workflow module has a transition table (``MACHINE``), its action functions and ``perform(obj, action,
actor, **params)``; every transition is audited and notifies the people concerned, and each function
commits once.
"""
