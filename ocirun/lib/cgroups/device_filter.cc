#include "ocirun/lib/cgroups/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace ocirun::cgroups {
namespace {

// Registers: r1 = context; the loaded request fields live in r2..r5.
constexpr int kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 6;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadContextWord(int dst, int16_t offset) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, static_cast<uint8_t>(dst), 1, offset, 0);
}
bpf_insn Alu32(uint8_t op, int dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, static_cast<uint8_t>(dst), 0, 0, imm);
}
bpf_insn Mov32Reg(int dst, int src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, static_cast<uint8_t>(dst), static_cast<uint8_t>(src), 0,
              0);
}
// A conditional jump whose offset is patched once the block's length is known.
bpf_insn JumpTo(uint8_t op, int reg, int32_t imm) {
  return Insn(BPF_JMP | op | BPF_K, static_cast<uint8_t>(reg), 0, 0, imm);
}
bpf_insn Return(int32_t verdict) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdict); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t AccessMask(const std::string& access) {
  int32_t mask = 0;
  for (char c : access) {
    if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
    if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
  }
  return mask;
}

// One rule: jumps past itself unless the request matches, then returns.
void AppendRule(const DeviceRule& rule, std::vector<bpf_insn>& prog) {
  std::vector<size_t> jumps;
  auto skip_unless_equal = [&](int reg, int32_t value) {
    jumps.push_back(prog.size());
    prog.push_back(JumpTo(BPF_JNE, reg, value));
  };
  if (rule.type == "c") skip_unless_equal(kType, BPF_DEVCG_DEV_CHAR);
  if (rule.type == "b") skip_unless_equal(kType, BPF_DEVCG_DEV_BLOCK);
  if (rule.type != "a") {
    if (rule.major) skip_unless_equal(kMajor, static_cast<int32_t>(*rule.major));
    if (rule.minor) skip_unless_equal(kMinor, static_cast<int32_t>(*rule.minor));
  }
  int32_t mask = AccessMask(rule.access);
  prog.push_back(Mov32Reg(kScratch, kAccess));
  if (rule.allow) {
    // Allows only a request all of whose access bits the rule grants.
    prog.push_back(Alu32(BPF_AND, kScratch, ~mask));
    jumps.push_back(prog.size());
    prog.push_back(JumpTo(BPF_JNE, kScratch, 0));
  } else {
    // Denies a request asking for any bit the rule denies.
    prog.push_back(Alu32(BPF_AND, kScratch, mask));
    jumps.push_back(prog.size());
    prog.push_back(JumpTo(BPF_JEQ, kScratch, 0));
  }
  prog.push_back(Return(rule.allow ? 1 : 0));
  prog.push_back(Exit());
  size_t end = prog.size();
  for (size_t j : jumps) prog[j].off = static_cast<int16_t>(end - (j + 1));
}

long Bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

}  // namespace

std::vector<bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog = {
      LoadContextWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_AND, kType, 0xFFFF),
      LoadContextWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32(BPF_RSH, kAccess, 16),
      LoadContextWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadContextWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  // The last matching rule decides: test rules from last to first.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) AppendRule(*it, prog);
  prog.push_back(Return(1));
  prog.push_back(Exit());
  return prog;
}

absl::Status AttachDeviceFilter(const std::string& cgroup_dir,
                                const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog = DeviceFilterProgram(rules);
  char log[4096] = {};
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uint64_t>("Apache");
  load.log_buf = reinterpret_cast<uint64_t>(log);
  load.log_size = sizeof log;
  load.log_level = 1;
  gantry::UniqueFd prog_fd(static_cast<int>(Bpf(BPF_PROG_LOAD, load)));
  if (!prog_fd) {
    int err = errno;
    return gantry::ErrnoError(err, absl::StrCat("linux.resources.devices: load eBPF device filter",
                                                log[0] ? absl::StrCat(" (", log, ")") : ""));
  }
  prog_fd.Reset(::fcntl(prog_fd.Release(), F_DUPFD_CLOEXEC, 0));

  gantry::UniqueFd cgroup(::open(cgroup_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!cgroup) return gantry::LastErrno(absl::StrCat("cgroup: open ", cgroup_dir));

  // The programs attached so far, to detach once the new one is in place, so
  // there is no moment without a filter.
  uint32_t old_ids[64];
  bpf_attr query{};
  query.query.target_fd = static_cast<uint32_t>(cgroup.get());
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
  query.query.prog_cnt = 64;
  uint32_t old_count = Bpf(BPF_PROG_QUERY, query) == 0 ? query.query.prog_cnt : 0;

  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, attach) != 0)
    return gantry::LastErrno(absl::StrCat("cgroup: attach eBPF device filter to ", cgroup_dir));

  for (uint32_t i = 0; i < old_count; ++i) {
    bpf_attr by_id{};
    by_id.prog_id = old_ids[i];
    gantry::UniqueFd old(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, by_id)));
    if (!old) continue;
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(cgroup.get());
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    Bpf(BPF_PROG_DETACH, detach);
  }
  return absl::OkStatus();
}

}  // namespace ocirun::cgroups
