#include "contd/tasks/tasks_service.h"

#include "contd/grpc_status.h"
#include "contd/namespaces.h"

namespace gantry::contd {
namespace {

template <typename Request, typename Response>
grpc::Status Forward(grpc::ServerContext* context, TaskManager& tasks, const Request& request,
                     Response* response,
                     absl::StatusOr<Response> (TaskManager::*method)(const std::string&,
                                                                     const Request&)) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<Response> result = (tasks.*method)(*ns, request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

template <typename Request>
grpc::Status Forward(grpc::ServerContext* context, TaskManager& tasks, const Request& request,
                     google::protobuf::Empty* /*response*/,
                     absl::Status (TaskManager::*method)(const std::string&, const Request&)) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus((tasks.*method)(*ns, request));
}

}  // namespace

grpc::Status TasksService::Create(grpc::ServerContext* context,
                                  const v1::CreateTaskRequest* request,
                                  v1::CreateTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Create);
}

grpc::Status TasksService::Start(grpc::ServerContext* context, const v1::StartTaskRequest* request,
                                 v1::StartTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Start);
}

grpc::Status TasksService::Delete(grpc::ServerContext* context,
                                  const v1::DeleteTaskRequest* request,
                                  v1::DeleteTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Delete);
}

grpc::Status TasksService::DeleteProcess(grpc::ServerContext* context,
                                         const v1::DeleteProcessRequest* request,
                                         v1::DeleteTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::DeleteProcess);
}

grpc::Status TasksService::Get(grpc::ServerContext* context, const v1::GetTaskRequest* request,
                               v1::GetTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Get);
}

grpc::Status TasksService::List(grpc::ServerContext* context, const v1::ListTasksRequest* request,
                                v1::ListTasksResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::List);
}

grpc::Status TasksService::Kill(grpc::ServerContext* context, const v1::KillTaskRequest* request,
                                google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Kill);
}

grpc::Status TasksService::Exec(grpc::ServerContext* context, const v1::ExecProcessRequest* request,
                                google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Exec);
}

grpc::Status TasksService::ResizePty(grpc::ServerContext* context,
                                     const v1::ResizePtyRequest* request,
                                     google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::ResizePty);
}

grpc::Status TasksService::CloseIO(grpc::ServerContext* context, const v1::CloseIORequest* request,
                                   google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::CloseIO);
}

grpc::Status TasksService::Pause(grpc::ServerContext* context, const v1::PauseTaskRequest* request,
                                 google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Pause);
}

grpc::Status TasksService::Resume(grpc::ServerContext* context,
                                  const v1::ResumeTaskRequest* request,
                                  google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Resume);
}

grpc::Status TasksService::ListPids(grpc::ServerContext* context,
                                    const v1::ListPidsRequest* request,
                                    v1::ListPidsResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::ListPids);
}

grpc::Status TasksService::Update(grpc::ServerContext* context,
                                  const v1::UpdateTaskRequest* request,
                                  google::protobuf::Empty* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Update);
}

grpc::Status TasksService::Wait(grpc::ServerContext* context, const v1::WaitTaskRequest* request,
                                v1::WaitTaskResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Wait);
}

grpc::Status TasksService::Metrics(grpc::ServerContext* context, const v1::MetricsRequest* request,
                                   v1::MetricsResponse* response) {
  return Forward(context, tasks_, *request, response, &TaskManager::Metrics);
}

}  // namespace gantry::contd
