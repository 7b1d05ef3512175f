"""Writes about customers, by topic. Import from the topic module (`from customers.services.merge import
customer_merge`); this package lists nothing itself, so importing one topic loads only what that topic needs.

    timeline.py   the kinds of timeline event and how each is told; timeline_record, timeline_record_many
    contact.py    raw contact details: the logged reveal, the audited search by a whole phone number
    profile.py    a customer entered or edited by hand, notes, consent and opt-out
    merge.py      customer_merge, customer_unmerge (what moves: the registry in customers/merging.py)
    export.py     the customer export, written in the request or as a Job's work; old files purged
    uploads.py    uploaded order exports purged after a while
    jobs.py       Jobs queued from a request (an import, a big export); the only module here that imports
                  customers.tasks, whose thin tasks call the modules above, so the dependency goes one way
"""
