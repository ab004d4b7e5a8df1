"""Chat messages stored in the database; ``MODEL_EVENTS`` announces each save to GraphQL subscribers."""

from django.db import models


class Message(models.Model):
    room = models.CharField(max_length=100, db_index=True)
    user = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.room}: {self.text[:40]}"
