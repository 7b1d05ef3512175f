"""factory-boy factories for the kernel's models (users, jobs). Each app's own models have theirs in
tests/<app>/factories.py."""

import factory
from django.contrib.auth import get_user_model

from crm.models import Job

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "test"
