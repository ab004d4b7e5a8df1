"""A plain sync Django view that saves a chat message, for the model-event tests."""

from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from example_project.chat.models import Message


@csrf_exempt
@require_POST
def post_message(request, room):
    with transaction.atomic():
        stored = Message.objects.create(room=room, user="view", text=request.POST["text"])
    return JsonResponse({"id": stored.pk})


urlpatterns = [path("rooms/<str:room>/messages", post_message)]
