"""What every provider's answer model is built from: lenient field types and the Answer base.

Lenient where a provider's slip should cost one field, not the whole answer: a value of the
wrong type reads as the empty value of its type (null, an empty object, an empty list), so a
job with a garbled `created_at` is still shown and polled. Strict where nothing can be shown
without it: each model's status field has no fallback, and a missing or wrong-typed status
fails validation (the adapter's "answered JSON without a job status").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

T = TypeVar("T")


def _fallback(empty: Callable[[], object]) -> WrapValidator:
    """A validator that reads a refused value as ``empty()`` (validated in its turn)."""
    def validate(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            return handler(empty())

    return WrapValidator(validate)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("blank text")
    return text


def _skip_refused(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """A list whose refused items are skipped, the others kept; anything else is []."""
    try:
        return handler(value)
    except ValidationError:
        if not isinstance(value, list):
            return []
        return [kept for item in value for kept in _alone(item, handler)]


def _alone(item: object, handler: ValidatorFunctionWrapHandler) -> list[Any]:
    try:
        return list(handler([item]))
    except ValidationError:
        return []


# The types, for any place: a field, a list's items, a dict's values.
OrNone = Annotated[T | None, _fallback(lambda: None)]
OrEmpty = Annotated[T, _fallback(dict)]  # an object (a model) of lenient fields
NonBlank = Annotated[StrictStr, AfterValidator(_not_blank)]
# Non-empty strings; other entries are skipped.
Strings = Annotated[list[Annotated[StrictStr, Field(min_length=1)]], WrapValidator(_skip_refused)]

# Field types, with their defaults: a missing field reads as a refused one.
Lenient = Annotated[OrNone[T], Field(default=None)]
Text = Lenient[NonBlank]  # text a person can read: a non-string or a blank string is null
# A number JSON can carry: no bool (an int to Python), no NaN or infinity.
Number = Lenient[StrictInt | Annotated[float, Field(strict=True, allow_inf_nan=False)]]
Flag = Lenient[StrictBool]
JsonObject = Lenient[dict[str, Any]]
Section = Annotated[OrEmpty[T], Field(default_factory=dict, validate_default=True)]
# An entry that is not an object reads as an empty one: it is still counted.
Entries = Annotated[list[OrEmpty[T]], _fallback(list), Field(default_factory=list)]


class Answer(BaseModel):
    """A provider's answer, read leniently. Fields the model does not name are ignored here
    and kept in the job's ``raw``. Built on first use: `status` pays for one provider's."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class FreeWordAnswer(Answer):
    """The fields Retailgrid's and MerchantOps' answers name alike (SPEC: "Retailgrid and
    MerchantOps send free strings")."""

    status: StrictStr = Field(description="Current job status: a free word (queued, "
                                          "processing, completed, failed, ...)")
    job_type: Text = Field(description="Type of job")
    created_at: Text = Field(description="Job creation timestamp (ISO 8601)")
    started_at: Text = Field(description="Job start timestamp (ISO 8601)")
    completed_at: Text = Field(description="Job completion timestamp (ISO 8601): with a word "
                                           "we do not know, it means the job has ended")
    error_message: Text = Field(description="Error message of a failed job")
