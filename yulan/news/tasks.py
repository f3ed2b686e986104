"""Background work of the news capability. Tasks take ids and read the rest themselves."""

from django_tasks import task

from yulan.news import services


@task()
def announce_post(post_id: int) -> bool:
    return services.post_announce(post_id)


@task()
def bulletin_fanout(bulletin_id: int) -> int:
    return services.bulletin_fanout(bulletin_id)
