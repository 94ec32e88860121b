#include "egressd/common/error.h"

#include <cstring>

namespace egressd {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kNotFound: return "not found";
    case Errc::kParse: return "parse error";
    case Errc::kIo: return "I/O error";
    case Errc::kPermission: return "permission denied";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kResource: return "resource exhausted";
    case Errc::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Error::message() const {
  if (sys_errno_ == 0) return context_;
  // strerrordesc_np (glibc >= 2.32) reads a constant table: thread-safe, unlike strerror().
  const char* desc = strerrordesc_np(sys_errno_);
  return context_ + ": " + (desc != nullptr ? desc : "errno " + std::to_string(sys_errno_));
}

std::unexpected<Error> fail_errno(std::string context, int sys_errno, std::source_location where) {
  Errc code = Errc::kIo;
  switch (sys_errno) {
    case EPERM:
    case EACCES: code = Errc::kPermission; break;
    case ENOENT: code = Errc::kNotFound; break;
    case EINVAL: code = Errc::kInvalidArgument; break;
    case ENOSYS:
    case EOPNOTSUPP: code = Errc::kUnsupported; break;
    case ENOMEM:
    case ENOSPC:
    case ENOBUFS:
    case E2BIG: code = Errc::kResource; break;
    default: break;
  }
  return fail(code, std::move(context), sys_errno, where);
}

}  // namespace egressd
