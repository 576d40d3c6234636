"""Tell a resident's family, neighbours and grid worker, on their own channels, in their own language.

``contacts`` holds the emergency contacts and their channels; ``templates`` the messages, as data;
``rules`` the pure decisions (quiet hours, retry back-off, who in the chain is told next);
``signing`` the Standard Webhooks signatures and the signed reply links; ``channels`` the senders
(Apprise for everything it supports, httpx for signed webhooks); ``service`` the thin shell that
stores notices, deliveries and attempts and runs what is due.
"""
