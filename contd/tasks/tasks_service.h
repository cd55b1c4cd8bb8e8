// Tasks: the gRPC face of the TaskManager (one contd-shim per task). Each
// call is the manager's method of the same name in the caller's namespace.
#pragma once

#include "contd/tasks/task_manager.h"
#include "contd/v1/tasks.grpc.pb.h"

namespace gantry::contd {

class TasksService final : public v1::Tasks::Service {
 public:
  explicit TasksService(TaskManager& tasks) : tasks_(tasks) {}

  grpc::Status Create(grpc::ServerContext* context, const v1::CreateTaskRequest* request,
                      v1::CreateTaskResponse* response) override;
  grpc::Status Start(grpc::ServerContext* context, const v1::StartTaskRequest* request,
                     v1::StartTaskResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteTaskRequest* request,
                      v1::DeleteTaskResponse* response) override;
  grpc::Status DeleteProcess(grpc::ServerContext* context, const v1::DeleteProcessRequest* request,
                             v1::DeleteTaskResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetTaskRequest* request,
                   v1::GetTaskResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListTasksRequest* request,
                    v1::ListTasksResponse* response) override;
  grpc::Status Kill(grpc::ServerContext* context, const v1::KillTaskRequest* request,
                    google::protobuf::Empty* response) override;
  grpc::Status Exec(grpc::ServerContext* context, const v1::ExecProcessRequest* request,
                    google::protobuf::Empty* response) override;
  grpc::Status ResizePty(grpc::ServerContext* context, const v1::ResizePtyRequest* request,
                         google::protobuf::Empty* response) override;
  grpc::Status CloseIO(grpc::ServerContext* context, const v1::CloseIORequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Pause(grpc::ServerContext* context, const v1::PauseTaskRequest* request,
                     google::protobuf::Empty* response) override;
  grpc::Status Resume(grpc::ServerContext* context, const v1::ResumeTaskRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status ListPids(grpc::ServerContext* context, const v1::ListPidsRequest* request,
                        v1::ListPidsResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateTaskRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Wait(grpc::ServerContext* context, const v1::WaitTaskRequest* request,
                    v1::WaitTaskResponse* response) override;
  grpc::Status Metrics(grpc::ServerContext* context, const v1::MetricsRequest* request,
                       v1::MetricsResponse* response) override;

 private:
  TaskManager& tasks_;
};

}  // namespace gantry::contd
