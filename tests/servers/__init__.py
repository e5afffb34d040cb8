"""Fixture modules (one per real server) and test-only servers.

Helpers that work against any :class:`~mailio.devservers.MailStack` live in
:mod:`tests.servers.mail_client`; the settings and messages the transport tests
hand to SmtpSender and ImapMailbox in :mod:`tests.servers.transport_settings`.
"""
