import Foundation
import Glibc
import TestSupport

/// Runs a system tool (mount, losetup, mkfs.ext4); throws with its standard error when it fails.
func runTool(_ path: String, _ arguments: [String]) throws {
    let outcome = try ChildProcess.capture(path, arguments)
    guard outcome.status == 0 else {
        throw FaultDiskError(description: "\(path) \(arguments.joined(separator: " ")): \(outcome.errors)")
    }
}

struct FaultDiskError: Error, CustomStringConvertible {
    let description: String
}

/// A small tmpfs mounted for one test: a real file system that really fills up. Needs root (as the sandbox and
/// CI run); `mount` failing fails the test rather than skipping it.
struct SmallDisk {
    let path: String

    init(bytes: Int, name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(32)
        path = NSTemporaryDirectory() + "ledger-disk-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try runTool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path])
    }

    /// Writes a file until the disk refuses (ENOSPC), first in 64 KiB pieces then in 4 KiB ones, so that not
    /// even a page is left. Returns its path. Bounded by the disk's size.
    func fill() throws -> String {
        let filler = path + "/filler"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw FaultDiskError(description: "open \(filler): errno \(errno)") }
        defer { close(descriptor) }
        let zeros = [UInt8](repeating: 0x5A, count: 64 << 10)
        for pieceBytes in [64 << 10, 4096] {
            while zeros.withUnsafeBytes({ write(descriptor, $0.baseAddress!, pieceBytes) }) == pieceBytes {}
        }
        return filler
    }

    func unmount() {
        _ = try? runTool("/usr/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// An ext4 file system on a loop device whose backing file lives on a small tmpfs: once the tmpfs is full, a
/// write to a block the backing file has not stored yet fails in the block layer, and fdatasync reports it —
/// what a thin-provisioned volume that ran out of space does. Needs root, `losetup` and `mkfs.ext4`.
struct ThinDisk {
    let backing: SmallDisk
    let device: String
    let path: String

    init(backingBytes: Int, imageBytes: Int, name: String = #function) throws {
        backing = try SmallDisk(bytes: backingBytes, name: name)
        let image = backing.path + "/disk.img"
        precondition(FileManager.default.createFile(atPath: image, contents: nil), "image file")
        try runTool("/usr/bin/truncate", ["-s", String(imageBytes), image])
        device = try Self.attach(image)
        path = backing.path + "-mounted"
        do {
            // Journal and inode tables written now, so that later only data blocks need new backing space.
            try runTool(
                "/usr/sbin/mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard", device])
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try runTool("/usr/bin/mount", [device, path])
        } catch {
            _ = try? runTool("/usr/sbin/losetup", ["-d", device])
            backing.unmount()
            throw error
        }
    }

    private static func attach(_ image: String) throws -> String {
        let outcome = try ChildProcess.capture("/usr/sbin/losetup", ["-f", "--show", image])
        let device = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard outcome.status == 0, device.hasPrefix("/dev/loop") else {
            throw FaultDiskError(description: "losetup -f --show \(image) failed: \(outcome.errors)")
        }
        return device
    }

    /// Unmounts and mounts again: what a restart after a disk fault sees is what reached the device.
    func remount() throws {
        try runTool("/usr/bin/umount", [path])
        try runTool("/usr/bin/mount", [device, path])
    }

    func unmount() {
        _ = try? runTool("/usr/bin/umount", ["-l", path])
        _ = try? runTool("/usr/sbin/losetup", ["-d", device])
        try? FileManager.default.removeItem(atPath: path)
        backing.unmount()
    }
}
