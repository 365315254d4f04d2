"""Application errors raised by the inference core; the API maps each `code` to an HTTP answer."""


class InferenceError(Exception):
    """Base class: every error carries a stable machine-readable code."""

    code = "inference_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImage(InferenceError):
    """The bytes are not an image that can be decoded."""

    code = "invalid_image"


class UnsupportedFormat(InferenceError):
    """The bytes are an image, but not a format the service accepts."""

    code = "unsupported_format"


class ImageTooLarge(InferenceError):
    """The file or its pixel dimensions exceed the configured limits (refused before decoding)."""

    code = "image_too_large"


class BlankDrawing(InferenceError):
    """The drawing holds no ink."""

    code = "blank_drawing"


class UnknownModel(InferenceError):
    """No model with that name (or version) exists."""

    code = "unknown_model"
