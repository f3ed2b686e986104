"""Background work of the core: delivering the outbox."""

from django_tasks import task

from yulan.core import mail


@task()
def deliver_outbox() -> dict[str, int]:
    """Send due mail until the outbox is empty. Several of these run side by side; each claims
    its own rows."""
    mail.delivery_started()
    stats = mail.outbox_deliver()
    return {"sent": stats.sent, "retried": stats.retried, "failed": stats.failed, "cancelled": stats.cancelled}
