// The one error classification of the REST edge, as moby's errdefs: an
// absl::Status code picks the HTTP status, the message goes out as Docker
// sends it, {"message": "..."}.
#pragma once

#include "absl/status/status.h"
#include "engined/api/http_types.h"

namespace gantry::engined {

// NotFound 404; AlreadyExists, FailedPrecondition, Aborted (conflicts) 409;
// InvalidArgument, OutOfRange 400; Unauthenticated 401; PermissionDenied 403;
// Unimplemented 501; Unavailable 503; anything else 500.
unsigned HttpStatusFor(absl::StatusCode code);

// {"message": status.message()} with the status code above.
HttpResponse ErrorResponse(const absl::Status& status);

}  // namespace gantry::engined
