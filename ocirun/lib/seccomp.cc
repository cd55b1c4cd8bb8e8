#include "ocirun/lib/seccomp.h"

#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace ocirun {

struct SeccompFilter::Impl {
  scmp_filter_ctx ctx = nullptr;
  bool has_notify = false;
  std::string listener_path;
  std::string listener_metadata;
  ~Impl() {
    if (ctx) seccomp_release(ctx);
  }
};

SeccompFilter::SeccompFilter() : impl_(std::make_unique<Impl>()) {}
SeccompFilter::SeccompFilter(SeccompFilter&&) noexcept = default;
SeccompFilter& SeccompFilter::operator=(SeccompFilter&&) noexcept = default;
SeccompFilter::~SeccompFilter() = default;

namespace {

// An OCI action name and its errno/trace value -> libseccomp action.
absl::StatusOr<uint32_t> Action(const std::string& name, std::optional<uint32_t> ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret.value_or(EPERM));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return absl::InvalidArgumentError(absl::StrCat("unknown action \"", name, "\""));
}

absl::StatusOr<scmp_compare> Operator(const std::string& name) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  auto it = kOps.find(name);
  if (it == kOps.end())
    return absl::InvalidArgumentError(absl::StrCat("unknown operator \"", name, "\""));
  return it->second;
}

}  // namespace

absl::StatusOr<SeccompFilter> SeccompFilter::Compile(const nlohmann::json& doc) {
  gantry::JsonReader r(doc, "linux.seccomp");
  std::string default_action;
  std::optional<uint32_t> default_errno;
  std::vector<std::string> architectures, flags;
  SeccompFilter filter;
  Impl& impl = *filter.impl_;
  r.Required("defaultAction", default_action).Optional("defaultErrnoRet", default_errno);
  r.Optional("architectures", architectures).Optional("flags", flags);
  r.Optional("listenerPath", impl.listener_path)
      .Optional("listenerMetadata", impl.listener_metadata);
  if (!r.ok()) return r.status();
  auto def = Action(default_action, default_errno);
  if (!def.ok()) return gantry::Annotate(def.status(), "linux.seccomp.defaultAction");

  impl.ctx = seccomp_init(*def);
  if (!impl.ctx)
    return absl::InvalidArgumentError("linux.seccomp: libseccomp refused the default action");
  // We set no_new_privs ourselves, only when the config asks for it.
  seccomp_attr_set(impl.ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& arch : architectures) {
    std::string name = absl::AsciiStrToLower(arch);
    if (absl::StartsWith(name, "scmp_arch_")) name = name.substr(10);
    uint32_t token = seccomp_arch_resolve_name(name.c_str());
    if (token == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("linux.seccomp.architectures: unknown architecture \"", arch, "\""));
    int rc = seccomp_arch_add(impl.ctx, token);
    if (rc != 0 && rc != -EEXIST)
      return gantry::ErrnoError(-rc, absl::StrCat("linux.seccomp.architectures: add ", arch));
  }
  for (const auto& flag : flags) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      seccomp_attr_set(impl.ctx, SCMP_FLTATR_CTL_LOG, 1);
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      seccomp_attr_set(impl.ctx, SCMP_FLTATR_CTL_SSB, 1);
    } else if (flag != "SECCOMP_FILTER_FLAG_TSYNC") {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.seccomp.flags: unknown flag \"", flag, "\""));
    }
  }

  auto syscalls = r.Array("syscalls");
  for (size_t i = 0; i < syscalls.size(); ++i) {
    gantry::JsonReader s = r.Element(*syscalls[i], i, "syscalls");
    std::vector<std::string> names;
    std::string action_name;
    std::optional<uint32_t> errno_ret;
    s.Required("names", names).Required("action", action_name).Optional("errnoRet", errno_ret);
    std::vector<scmp_arg_cmp> args;
    auto arg_items = s.Array("args");
    for (size_t j = 0; j < arg_items.size() && s.ok(); ++j) {
      gantry::JsonReader a = s.Element(*arg_items[j], j, "args");
      unsigned index = 0;
      uint64_t value = 0, value_two = 0;
      std::string op_name;
      a.Required("index", index).Required("value", value).Optional("valueTwo", value_two);
      a.Required("op", op_name);
      if (!a.ok()) break;
      if (index > 5) {
        a.Error("index", "must be 0-5");
        break;
      }
      auto op = Operator(op_name);
      if (!op.ok()) {
        a.Error("op", op.status().message());
        break;
      }
      args.push_back(scmp_arg_cmp{index, *op, value, value_two});
    }
    if (!r.ok()) return r.status();
    auto action = Action(action_name, errno_ret);
    if (!action.ok()) return gantry::Annotate(action.status(), s.FieldPath("action"));
    if (*action == *def) continue;  // libseccomp refuses rules that repeat the default
    if (*action == SCMP_ACT_NOTIFY) impl.has_notify = true;

    // libseccomp takes one comparison per argument in a rule: several on the
    // same argument become several rules (runc does the same).
    std::vector<std::vector<scmp_arg_cmp>> rules;
    bool repeated = false;
    for (size_t x = 0; x < args.size(); ++x)
      for (size_t y = x + 1; y < args.size(); ++y) repeated |= args[x].arg == args[y].arg;
    if (repeated) {
      for (const auto& a : args) rules.push_back({a});
    } else {
      rules.push_back(args);
    }
    for (const auto& name : names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp/kernel: ignored, as runc
      for (const auto& rule : rules) {
        int rc = seccomp_rule_add_array(impl.ctx, *action, nr, static_cast<unsigned>(rule.size()),
                                        rule.empty() ? nullptr : rule.data());
        if (rc != 0)
          return gantry::ErrnoError(-rc, absl::StrCat(s.path(), ": add rule for ", name));
      }
    }
  }
  if (!impl.listener_path.empty() && !impl.has_notify)
    return absl::InvalidArgumentError(
        "linux.seccomp.listenerPath: given but no syscall uses SCMP_ACT_NOTIFY");
  if (impl.has_notify && impl.listener_path.empty())
    return absl::InvalidArgumentError(
        "linux.seccomp.listenerPath: required when a syscall uses SCMP_ACT_NOTIFY");
  return filter;
}

absl::StatusOr<gantry::UniqueFd> SeccompFilter::Load() const {
  int rc = seccomp_load(impl_->ctx);
  if (rc != 0) return gantry::ErrnoError(-rc, "linux.seccomp: load filter");
  if (!impl_->has_notify) return gantry::UniqueFd();
  gantry::UniqueFd notify(seccomp_notify_fd(impl_->ctx));
  if (!notify) return absl::InternalError("linux.seccomp: no notify descriptor");
  return notify;
}

bool SeccompFilter::has_notify() const { return impl_->has_notify; }

absl::Status SeccompFilter::SendToListener(int notify_fd, pid_t pid,
                                           const nlohmann::json& state) const {
  nlohmann::json message = {{"ociVersion", "1.0.2"},
                            {"fds", {"seccompFd"}},
                            {"pid", pid},
                            {"metadata", impl_->listener_metadata},
                            {"state", state}};
  GANTRY_ASSIGN_OR_RETURN(gantry::UniqueFd listener,
                          gantry::ConnectUnixSocket(impl_->listener_path));
  return gantry::Annotate(gantry::SendFd(listener.get(), notify_fd, message.dump()),
                          "linux.seccomp.listenerPath");
}

}  // namespace ocirun
