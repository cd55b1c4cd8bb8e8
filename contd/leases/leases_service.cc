#include "contd/leases/leases_service.h"

#include "common/errors.h"
#include "contd/service_call.h"

namespace gantry::contd {

grpc::Status LeasesService::Create(grpc::ServerContext* context,
                                   const v1::CreateLeaseRequest* request,
                                   v1::CreateLeaseResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_lease(),
                            store_.Create(ns, request->id(), request->labels()));
    return absl::OkStatus();
  });
}

grpc::Status LeasesService::Delete(grpc::ServerContext* context,
                                   const v1::DeleteLeaseRequest* request,
                                   google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(store_.Delete(ns, request->id()));
    if (request->sync()) return collector_.Collect().status();
    return absl::OkStatus();
  });
}

grpc::Status LeasesService::List(grpc::ServerContext* context, const v1::ListLeasesRequest* request,
                                 v1::ListLeasesResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        std::vector<v1::Lease> leases,
        store_.List(ns, {request->filters().begin(), request->filters().end()}));
    for (v1::Lease& lease : leases) *response->add_leases() = std::move(lease);
    return absl::OkStatus();
  });
}

grpc::Status LeasesService::AddResource(grpc::ServerContext* context,
                                        const v1::AddLeaseResourceRequest* request,
                                        google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) {
    return store_.AddResource(ns, request->id(), request->resource());
  });
}

grpc::Status LeasesService::DeleteResource(grpc::ServerContext* context,
                                           const v1::DeleteLeaseResourceRequest* request,
                                           google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) {
    return store_.DeleteResource(ns, request->id(), request->resource());
  });
}

grpc::Status LeasesService::ListResources(grpc::ServerContext* context,
                                          const v1::ListLeaseResourcesRequest* request,
                                          v1::ListLeaseResourcesResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(std::vector<v1::LeaseResource> resources,
                            store_.ListResources(ns, request->id()));
    for (v1::LeaseResource& r : resources) *response->add_resources() = std::move(r);
    return absl::OkStatus();
  });
}

}  // namespace gantry::contd
