// A private bpffs for the Cilium map tests (root): the test process unshares its mount namespace
// before main() (no thread exists yet), makes every mount private, and mounts a bpffs on a
// scratch directory under /tmp. Pins live there and nowhere else — /sys/fs/bpf is never touched —
// and vanish with the mount: TearDown unmounts and removes the directory, and if the process
// dies first its mount namespace (and the mount) dies with it; the next run sweeps the empty
// directory left behind — only a dead process's: removing a directory that is a mountpoint in
// another namespace detaches that mount, so sweeping a live run's directory (a second build's
// tests running at the same time) would pull its bpffs away mid-test (seen as EPERM on pin).
#pragma once

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/run_owner.h"
#include "unit/cilium/ct_fixtures.h"

namespace egressd::cilium::testing {

inline std::string& bpffs_root() {
  static std::string root;
  return root;
}

// Removes a directory tree (pins are files of the bpffs; unlink unpins them).
inline void remove_tree(const std::string& path) {
  if (DIR* d = opendir(path.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string child = path + "/" + name;
      struct stat st{};
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        remove_tree(child);
      } else {
        unlink(child.c_str());
      }
    }
    closedir(d);
  }
  rmdir(path.c_str());
}

class BpffsEnvironment final : public ::testing::Environment {
 public:
  explicit BpffsEnvironment(int unshare_errno) : unshare_errno_(unshare_errno) {}

  void SetUp() override {
    ASSERT_EQ(unshare_errno_, 0) << "unshare(CLONE_NEWNS) before main (needs root): "
                                 << std::strerror(unshare_errno_);
    // No mount event of ours may reach the host's namespace.
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << std::strerror(errno);
    sweep();
    std::string tmpl =
        "/tmp/" + egressd::testing::own_run_prefix() + std::string(kScratchSuffix) + "XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    ASSERT_EQ(mount("bpf", dir_.c_str(), "bpf", 0, nullptr), 0) << std::strerror(errno);
    mounted_ = true;
    bpffs_root() = dir_;
  }

  void TearDown() override {
    if (mounted_) {
      remove_tree_contents(dir_);
      umount2(dir_.c_str(), MNT_DETACH);
    }
    if (!dir_.empty()) rmdir(dir_.c_str());
  }

 private:
  static void remove_tree_contents(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
      std::vector<std::string> names;
      while (const dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(dir + "/" + name);
      }
      closedir(d);
      for (const auto& n : names) {
        struct stat st{};
        if (lstat(n.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
          remove_tree(n);
        } else {
          unlink(n.c_str());
        }
      }
    }
  }
  // Empty scratch directories of crashed runs (their mounts died with their namespaces).
  static void sweep() {
    if (DIR* d = opendir("/tmp")) {
      while (const dirent* e = readdir(d)) {
        const std::string_view name = e->d_name;
        if (name.find(kScratchSuffix) != std::string_view::npos &&
            egressd::testing::is_stale_run_name(name)) {
          rmdir((std::string("/tmp/") + e->d_name).c_str());
        }
      }
      closedir(d);
    }
  }

  static constexpr std::string_view kScratchSuffix = "cilium-bpffs-";

  int unshare_errno_;
  std::string dir_;
  bool mounted_ = false;
};

// mkdir -p inside the bpffs.
inline void make_dirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    mkdir(cur.c_str(), 0700);
  }
}

// A map created, pinned at `path` and kept open read-write for the test to fill.
class TestMap {
 public:
  struct Spec {
    bpf_map_type type = BPF_MAP_TYPE_LRU_HASH;
    uint32_t key_size = 14;
    uint32_t value_size = 56;
    uint32_t max_entries = 1024;
    uint32_t flags = 0;
    const BuiltBtf* btf = nullptr;  // with BTF key/value types when set
  };

  TestMap(const std::string& path, const Spec& spec) : path_(path) {
    bpf_map_create_opts opts{};  // LIBBPF_OPTS without its C-only compound literal
    opts.sz = sizeof(opts);
    opts.map_flags = spec.flags;
    int btf_fd = -1;
    if (spec.btf != nullptr) {
      if (btf__fd(spec.btf->b) < 0 && btf__load_into_kernel(spec.btf->b) != 0) {
        error_ = std::string("loading BTF: ") + std::strerror(errno);
        return;
      }
      btf_fd = btf__fd(spec.btf->b);
      opts.btf_fd = static_cast<uint32_t>(btf_fd);
      opts.btf_key_type_id = spec.btf->key_id;
      opts.btf_value_type_id = spec.btf->value_id;
    }
    fd_ = bpf_map_create(spec.type, "cilium_ct_test", spec.key_size, spec.value_size,
                         spec.max_entries, &opts);
    if (fd_ < 0) {
      error_ = std::string("bpf_map_create: ") + std::strerror(errno);
      return;
    }
    make_dirs(path.substr(0, path.rfind('/')));
    if (bpf_obj_pin(fd_, path.c_str()) != 0) {
      error_ = "pin " + path + ": " + std::strerror(errno);
    }
  }
  ~TestMap() {
    unlink(path_.c_str());
    if (fd_ >= 0) close(fd_);
  }
  TestMap(const TestMap&) = delete;
  TestMap& operator=(const TestMap&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool ok() const { return error_.empty(); }

  void put(const std::vector<uint8_t>& key, const std::vector<uint8_t>& value) {
    ASSERT_EQ(bpf_map_update_elem(fd_, key.data(), value.data(), BPF_ANY), 0)
        << path_ << ": " << std::strerror(errno);
  }
  void erase(const std::vector<uint8_t>& key) {
    ASSERT_EQ(bpf_map_delete_elem(fd_, key.data()), 0) << std::strerror(errno);
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string error_;
};

}  // namespace egressd::cilium::testing
