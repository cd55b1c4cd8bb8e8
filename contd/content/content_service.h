// Content: the gRPC face of the ContentStore. Read and List stream; Write is
// a bidirectional stream of STAT/WRITE/COMMIT actions on one ingest, as
// containerd's WriteContentRequest. Publishes /content/delete. A Write under
// a lease ("containerd-lease" metadata) adds its ingest and blob to it.
#pragma once

#include "contd/content/content_store.h"
#include "contd/events/exchange.h"
#include "contd/metadata/lease_store.h"
#include "contd/v1/content.grpc.pb.h"

namespace gantry::contd {

class ContentService final : public v1::Content::Service {
 public:
  ContentService(content::ContentStore& store, EventExchange& events, metadata::LeaseStore& leases)
      : store_(store), events_(events), leases_(leases) {}

  grpc::Status Info(grpc::ServerContext* context, const v1::ContentInfoRequest* request,
                    v1::ContentInfoResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateContentRequest* request,
                      v1::UpdateContentResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListContentRequest* request,
                    grpc::ServerWriter<v1::ListContentResponse>* writer) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteContentRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Read(grpc::ServerContext* context, const v1::ReadContentRequest* request,
                    grpc::ServerWriter<v1::ReadContentResponse>* writer) override;
  grpc::Status Status(grpc::ServerContext* context, const v1::ContentStatusRequest* request,
                      v1::ContentStatusResponse* response) override;
  grpc::Status ListStatuses(grpc::ServerContext* context,
                            const v1::ListContentStatusesRequest* request,
                            v1::ListContentStatusesResponse* response) override;
  grpc::Status Write(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WriteContentResponse, v1::WriteContentRequest>* stream) override;
  grpc::Status Abort(grpc::ServerContext* context, const v1::AbortContentRequest* request,
                     google::protobuf::Empty* response) override;

 private:
  content::ContentStore& store_;
  EventExchange& events_;
  metadata::LeaseStore& leases_;
};

}  // namespace gantry::contd
