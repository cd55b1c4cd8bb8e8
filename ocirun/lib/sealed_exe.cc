#include "ocirun/lib/sealed_exe.h"

#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char** environ;

namespace ocirun {
namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
// Set across the re-exec only, so a copy that is somehow not sealed fails
// instead of re-executing forever.
constexpr char kReexecMarker[] = "_OCIRUN_SEALED_REEXEC";

bool IsSealed(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);  // EINVAL for anything but a memfd
  return seals >= 0 && (seals & kSeals) == kSeals;
}

// The bytes exec(2) needs: the ELF header, program headers and what they
// map, not the debug sections after them (a RelWithDebInfo ocirun is ~50 MB
// of which ~3 MB run; copying it all would double the time of `run`).
// Section headers are dropped with them, so the copy says it has none.
// Anything that is not a well-formed ELF file is copied whole.
off_t ExecutableExtent(int exe, off_t size, ElfW(Ehdr) * header) {
  if (::pread(exe, header, sizeof *header, 0) != static_cast<ssize_t>(sizeof *header) ||
      std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
      header->e_phentsize != sizeof(ElfW(Phdr)))
    return size;
  off_t end = static_cast<off_t>(header->e_phoff + header->e_phnum * sizeof(ElfW(Phdr)));
  for (int i = 0; i < header->e_phnum; ++i) {
    ElfW(Phdr) ph;
    off_t at = static_cast<off_t>(header->e_phoff + i * sizeof ph);
    if (::pread(exe, &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) return size;
    end = std::max(end, static_cast<off_t>(ph.p_offset + ph.p_filesz));
  }
  return std::min(end, size);
}

absl::StatusOr<gantry::UniqueFd> SealedCopy(int exe) {
  struct stat st;
  if (::fstat(exe, &st) != 0) return gantry::LastErrno("stat /proc/self/exe");
  ElfW(Ehdr) header;
  off_t length = ExecutableExtent(exe, st.st_size, &header);
  // MFD_EXEC: kernels with vm.memfd_noexec would otherwise refuse to run it;
  // older ones do not know the flag.
  gantry::UniqueFd copy(::memfd_create("ocirun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (!copy && errno == EINVAL)
    copy.Reset(::memfd_create("ocirun", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return gantry::LastErrno("memfd_create for a sealed copy of ocirun");
  off_t offset = 0;
  while (offset < length) {
    ssize_t n = ::sendfile(copy.get(), exe, &offset, static_cast<size_t>(length - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return gantry::LastErrno("copy ocirun into a memfd");
  }
  if (length < st.st_size) {
    header.e_shoff = 0;
    header.e_shnum = 0;
    header.e_shstrndx = SHN_UNDEF;
    if (::pwrite(copy.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header))
      return gantry::LastErrno("write ocirun's copy");
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) return gantry::LastErrno("seal ocirun's copy");
  return copy;
}

}  // namespace

absl::Status ReexecFromSealedCopy(char** argv) {
  gantry::UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return gantry::LastErrno("open /proc/self/exe");
  if (IsSealed(exe.get())) {
    ::unsetenv(kReexecMarker);
    return absl::OkStatus();
  }
  if (::getenv(kReexecMarker))
    return absl::InternalError("re-executed from a sealed copy, yet /proc/self/exe is not sealed");
  GANTRY_ASSIGN_OR_RETURN(gantry::UniqueFd copy, SealedCopy(exe.get()));
  if (::setenv(kReexecMarker, "1", 1) != 0) return gantry::LastErrno("setenv");
  ::fexecve(copy.get(), argv, environ);
  int err = errno;
  ::unsetenv(kReexecMarker);
  return gantry::ErrnoError(err, "re-execute ocirun from its sealed copy");
}

}  // namespace ocirun
