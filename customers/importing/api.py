"""REST API of order-export imports: create a job with a multipart upload, then poll its status and result.

    POST /api/import-jobs/         multipart, one or more `files`   -> 202, the job (status "queued")
    GET  /api/import-jobs/         the caller's import jobs (all of them with crm.view_all_jobs), newest first
    GET  /api/import-jobs/{id}/    status, progress, per-file summary and, when finished, `result`
"""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm.models import Job
from customers.models import ImportFile
from customers.pagination import UncountedPagination
from customers.services.jobs import import_job_create

from .forms import validate_export_uploads
from .jobs import KIND


class ImportFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportFile
        fields = ["id", "original_name", "size", "sha256", "kind", "summary"]


class ImportJobSerializer(serializers.ModelSerializer):
    files = ImportFileSerializer(source="import_files", many=True, read_only=True)
    percent = serializers.IntegerField(read_only=True)
    created_by = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "percent", "progress_done", "progress_total", "step", "error", "created_by",
            "created_at", "started_at", "finished_at", "files", "result",
        ]
        read_only_fields = fields


class ImportJobCreateSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=True)

    def validate_files(self, files):
        validate_export_uploads(files)  # DRF turns its ValidationError into this field's errors
        return files


class ImportJobViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    required_permissions = ["customers.import_orders"]
    serializer_class = ImportJobSerializer
    pagination_class = UncountedPagination
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Job.objects.none()
        jobs = Job.objects.visible_to(self.request.user).filter(kind=KIND)
        return jobs.prefetch_related("import_files").select_related("created_by").order_by("-id")

    @extend_schema(request=ImportJobCreateSerializer, responses={202: ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        data = {"files": request.FILES.getlist("files")}
        serializer = ImportJobCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        job = import_job_create(files=serializer.validated_data["files"], user=request.user)
        job = self.get_queryset().get(pk=job.pk)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("import-jobs", ImportJobViewSet, basename="import-job")
