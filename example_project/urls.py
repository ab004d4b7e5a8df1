from django.urls import path
from django.views.generic import TemplateView

from .chat import views

urlpatterns = [
    path("", TemplateView.as_view(template_name="landing.html"), name="index"),
    path("chat/", views.index, name="chat-index"),
    path("chat/<str:room_name>/", views.room, name="room"),
]
