"""MerchantOps' answers: the status answer polled, the detail answer once a job has ended, and
the entries of its errors and warnings (shared/providers/merchantops-get-job*.md)."""

from pydantic import Field, StrictStr

from jobwatch.adapters.answers.lenient import (
    Answer,
    Entries,
    FreeWordAnswer,
    JsonObject,
    Number,
    Text,
)


class MerchantOpsStatus(Answer):
    """``GET /api/jobs/{job_id}/status``: the lightweight response for status polling
    (JobStatusResponse)."""

    job_id: Text = Field(description="The job's id")
    status: StrictStr = Field(description="Current job status (a free word)")
    progress_percentage: Number = Field(description="Progress percentage (0-100): processed "
                                                    "and failed items together")
    processed_items: Number = Field(description="Items successfully processed")
    total_items: Number = Field(description="Total items to process")
    failed_items: Number = Field(description="Items that failed")


class MerchantOpsError(Answer):
    """One entry of the detail answer's ``errors`` or ``warnings`` (JobErrorResponse)."""

    entity_type: Text = Field(description="Type of entity (product, document, etc.)")
    entity_key: Text = Field(description="Key of the entity that failed")
    error_type: Text = Field(description="Type of error")
    message: Text = Field(description="Human-readable error message")
    step: Text = Field(description="Step where the error occurred")
    timestamp: Text = Field(description="When the error occurred (ISO 8601)")
    details: JsonObject = Field(description="Additional error context")


class MerchantOpsReferenceKey(Answer):
    """One entry of the detail answer's ``reference_keys`` (JobReferenceKeyResponse)."""

    entity_type: Text = Field(description="Type of entity (product, document, technology)")
    key: Text = Field(description="Entity key/identifier")


class MerchantOpsDetail(MerchantOpsStatus, FreeWordAnswer):
    """``GET /api/jobs/{job_id}``: the detailed response, with error details
    (JobDetailResponse). It holds every field of the status answer, so this model reads both:
    a status answer simply lacks the rest."""

    success_rate: Number = Field(description="Success rate percentage (0-100)")
    warned_items: Number = Field(description="Items processed with warnings (e.g., expected "
                                             "target gaps)")
    duration_seconds: Number = Field(description="Job duration in seconds")
    triggered_by: Text = Field(description="User who triggered the job")
    error_details: JsonObject = Field(description="Detailed error information")
    metadata: JsonObject = Field(description="Job metadata")
    errors: Entries[MerchantOpsError] = Field(description="Errors that occurred: an entry "
                                                          "that is not an object is an empty "
                                                          "one, still counted")
    warnings: Entries[MerchantOpsError] = Field(description="Non-blocking warnings (same shape "
                                                            "as errors)")
    reference_keys: Entries[MerchantOpsReferenceKey] = Field(
        description="Entity reference keys")
