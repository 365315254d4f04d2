from django.urls import path

from webapp.drawings import apis

urlpatterns = [
    path("drawings/", apis.DrawingCreateApi.as_view(), name="drawing-create"),
    path("drawings/<str:drawing_id>/", apis.DrawingDetailApi.as_view(), name="drawing-detail"),
    path("drawings/<str:drawing_id>/label/", apis.DrawingLabelApi.as_view(), name="drawing-label"),
    path("drawings/<str:drawing_id>/explain/", apis.DrawingExplainApi.as_view(), name="drawing-explain"),
]
