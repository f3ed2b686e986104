import factory

from yulan.guide.models import Article, Category, Place


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: {"en": o.slug.title()})


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    slug = factory.Sequence(lambda n: f"article-{n}")
    category = factory.SubFactory(CategoryFactory)
    title = factory.LazyAttribute(lambda o: {"en": o.slug.replace("-", " ").title()})
    body = {"en": "<p>Body</p>"}


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place

    slug = factory.Sequence(lambda n: f"place-{n}")
    kind = Place.Kind.COMMUNITY_CENTRE
    name = factory.LazyAttribute(lambda o: {"en": o.slug})
    address = {"en": "Somewhere"}
    latitude = 31.2
    longitude = 121.4
