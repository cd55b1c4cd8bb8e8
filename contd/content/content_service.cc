#include "contd/content/content_service.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/events/topics.h"
#include "contd/leases/request_lease.h"
#include "contd/service_call.h"
#include "contd/v1/event_types.pb.h"

namespace gantry::contd {
namespace {

// Chunks of Read and batches of List: well under gRPC's 4 MiB message limit.
constexpr int64_t kReadChunk = 1 << 20;
constexpr int kListBatch = 100;

absl::Status StreamClosed() { return absl::CancelledError("the client closed the stream"); }

// Answers one request of a Write stream.
absl::Status HandleWrite(content::ContentWriter& writer, const v1::WriteContentRequest& request,
                         v1::WriteContentResponse& response) {
  if (request.action() != v1::WRITE_ACTION_STAT && !request.data().empty()) {
    if (request.offset() != writer.offset()) {
      // Offset 0 restarts; anything else must continue where the ingest is.
      if (request.offset() != 0) {
        return absl::OutOfRangeError(absl::StrCat(
            "write offset ", request.offset(), " is not where the ingest is: ", writer.offset()));
      }
      GANTRY_RETURN_IF_ERROR(writer.Truncate(0));
    }
    GANTRY_RETURN_IF_ERROR(writer.Write(request.data()));
  }
  const v1::ContentStatus status = writer.Status();
  response.set_action(request.action());
  *response.mutable_started_at() = status.started_at();
  *response.mutable_updated_at() = status.updated_at();
  response.set_offset(writer.offset());
  response.set_total(status.total());
  if (request.action() == v1::WRITE_ACTION_COMMIT) {
    metadata::StringMap labels(request.labels().begin(), request.labels().end());
    GANTRY_RETURN_IF_ERROR(writer.Commit(request.total(), request.expected(), labels));
    response.set_digest(writer.digest());
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status ContentService::Info(grpc::ServerContext* context,
                                  const v1::ContentInfoRequest* request,
                                  v1::ContentInfoResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_info(), store_.Info(ns, request->digest()));
    return absl::OkStatus();
  });
}

grpc::Status ContentService::Update(grpc::ServerContext* context,
                                    const v1::UpdateContentRequest* request,
                                    v1::UpdateContentResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_info(),
                            store_.Update(ns, request->info(), request->update_mask()));
    return absl::OkStatus();
  });
}

grpc::Status ContentService::List(grpc::ServerContext* context,
                                  const v1::ListContentRequest* request,
                                  grpc::ServerWriter<v1::ListContentResponse>* writer) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        std::vector<v1::ContentInfo> infos,
        store_.List(ns, {request->filters().begin(), request->filters().end()}));
    v1::ListContentResponse batch;
    for (v1::ContentInfo& info : infos) {
      *batch.add_info() = std::move(info);
      if (batch.info_size() == kListBatch) {
        if (!writer->Write(batch)) return StreamClosed();
        batch.Clear();
      }
    }
    if (batch.info_size() > 0 && !writer->Write(batch)) return StreamClosed();
    return absl::OkStatus();
  });
}

grpc::Status ContentService::Delete(grpc::ServerContext* context,
                                    const v1::DeleteContentRequest* request,
                                    google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(store_.Delete(ns, request->digest()));
    v1::ContentDelete event;
    event.set_digest(request->digest());
    PublishOrLog(events_, ns, topics::kContentDelete, event);
    return absl::OkStatus();
  });
}

grpc::Status ContentService::Read(grpc::ServerContext* context,
                                  const v1::ReadContentRequest* request,
                                  grpc::ServerWriter<v1::ReadContentResponse>* writer) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(v1::ContentInfo info, store_.Info(ns, request->digest()));
    if (request->offset() < 0 || request->offset() > info.size()) {
      return absl::OutOfRangeError(absl::StrCat("content ", request->digest(), ": offset ",
                                                request->offset(), " is beyond its ", info.size(),
                                                " bytes"));
    }
    if (request->size() < 0) return absl::InvalidArgumentError("size: must not be negative");
    int64_t end = info.size();
    if (request->size() > 0) end = std::min(end, request->offset() + request->size());
    // One descriptor for the whole stream: a Delete meanwhile does not cut it short.
    GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, store_.OpenBlob(ns, request->digest()));
    v1::ReadContentResponse chunk;
    for (int64_t offset = request->offset(); offset < end;) {
      std::string& data = *chunk.mutable_data();
      data.resize(static_cast<size_t>(std::min(kReadChunk, end - offset)));
      const ssize_t n = ::pread(fd.get(), data.data(), data.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrno(absl::StrCat("content ", request->digest(), ": read"));
      if (n == 0) {
        return absl::DataLossError(
            absl::StrCat("content ", request->digest(), ": file shorter than its size"));
      }
      data.resize(static_cast<size_t>(n));
      chunk.set_offset(offset);
      if (!writer->Write(chunk)) return StreamClosed();
      offset += n;
    }
    return absl::OkStatus();
  });
}

grpc::Status ContentService::Status(grpc::ServerContext* context,
                                    const v1::ContentStatusRequest* request,
                                    v1::ContentStatusResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_status(), store_.Status(ns, request->ref()));
    return absl::OkStatus();
  });
}

grpc::Status ContentService::ListStatuses(grpc::ServerContext* context,
                                          const v1::ListContentStatusesRequest* request,
                                          v1::ListContentStatusesResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        std::vector<v1::ContentStatus> statuses,
        store_.ListStatuses(ns, {request->filters().begin(), request->filters().end()}));
    for (v1::ContentStatus& s : statuses) *response->add_statuses() = std::move(s);
    return absl::OkStatus();
  });
}

grpc::Status ContentService::Write(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::WriteContentResponse, v1::WriteContentRequest>* stream) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    v1::WriteContentRequest request;
    if (!stream->Read(&request)) return absl::OkStatus();
    if (request.ref().empty()) {
      return absl::InvalidArgumentError("ref: the first message of a Write stream must name it");
    }
    const std::string ref = request.ref();
    const std::string lease = RequestLease(*context);
    // Leaving this scope without a commit keeps the ingest for a resume.
    std::unique_ptr<content::ContentWriter> writer;
    GANTRY_RETURN_IF_ERROR(
        leases_.CreateLeased(ns, lease, [&](std::vector<v1::LeaseResource>& made) -> absl::Status {
          made.push_back(metadata::IngestResource(ref));
          if (!request.expected().empty()) {
            made.push_back(metadata::ContentResource(request.expected()));
          }
          GANTRY_ASSIGN_OR_RETURN(writer,
                                  store_.Writer(ns, ref, request.total(), request.expected()));
          return absl::OkStatus();
        }));
    while (true) {
      if (!request.ref().empty() && request.ref() != ref) {
        return absl::InvalidArgumentError(
            absl::StrCat("ref: \"", request.ref(), "\" differs from the stream's \"", ref, "\""));
      }
      v1::WriteContentResponse response;
      // A commit's blob joins the lease before a collection can see it.
      GANTRY_RETURN_IF_ERROR(Annotate(
          leases_.CreateLeased(ns, request.action() == v1::WRITE_ACTION_COMMIT ? lease : "",
                               [&](std::vector<v1::LeaseResource>& made) {
                                 absl::Status handled = HandleWrite(*writer, request, response);
                                 if (!writer->digest().empty()) {
                                   made.push_back(metadata::ContentResource(writer->digest()));
                                 }
                                 return handled;
                               }),
          absl::StrCat("ref ", ref)));
      if (!stream->Write(response)) return StreamClosed();
      if (request.action() == v1::WRITE_ACTION_COMMIT) return absl::OkStatus();
      if (!stream->Read(&request)) return absl::OkStatus();
    }
  });
}

grpc::Status ContentService::Abort(grpc::ServerContext* context,
                                   const v1::AbortContentRequest* request,
                                   google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context,
                           [&](const std::string& ns) { return store_.Abort(ns, request->ref()); });
}

}  // namespace gantry::contd
