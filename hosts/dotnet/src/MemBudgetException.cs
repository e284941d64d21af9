using System;

namespace Membudget
{
    /// <summary>
    /// A call into libmembudget failed. The message is the library's own text (it names the
    /// thing, the value, the limit and the key to change); <see cref="Status"/> is the C status
    /// code. Each status has its own subclass, so callers catch what they can act on.
    /// </summary>
    public class MemBudgetException : Exception
    {
        /// <summary>An exception for C status <paramref name="status"/> with the library's message.</summary>
        public MemBudgetException(int status, string message) : base(message) { Status = status; }

        /// <summary>The C status code (<c>MB_ERR_*</c>, negative).</summary>
        public int Status { get; private set; }
    }

    /// <summary>Which limit refused a request (<c>MB_LIMIT_*</c>; see <see cref="QuotaExceededException.Limit"/>).</summary>
    public enum Limit : uint
    {
        /// <summary>The category's quota.</summary>
        Category = 0,
        /// <summary>The process total (all categories together).</summary>
        Process = 1,
        /// <summary>None: a failure injected for testing (<c>MEMBUDGET_FAULT_PROBABILITY</c>).</summary>
        Injected = 2,
        /// <summary>The runtime's pool of the category is used up (its network buffers or managed memory).</summary>
        Pool = 3,
        /// <summary>A child budget's limit (<see cref="ChildBudget"/>); the message names the budget.</summary>
        Budget = 4,
    }

    /// <summary>
    /// <c>MB_ERR_QUOTA_EXCEEDED</c>: a quota (a category's, or the process total) or one of the
    /// runtime's pools would be exceeded; nothing was charged. The message names used, quota and
    /// the key to increase; the properties carry the same facts as the library reported them
    /// (<c>mb_last_refusal</c>).
    /// </summary>
    public class QuotaExceededException : MemBudgetException
    {
        /// <summary>With the library's message, the category charged and the bytes asked for
        /// (null and -1 where not known); the other facts are unknown.</summary>
        public QuotaExceededException(string message, Category? category, long requestedBytes)
            : this(message, category, requestedBytes, -1, -1, null, null, null)
        {
        }

        /// <summary>
        /// With every fact of the refusal: the library's message, the category, the bytes
        /// requested, in use and the limit (-1 where unknown, <see cref="long.MaxValue"/> for
        /// none), which limit refused, whose keys the message names and the key to raise (null
        /// where unknown or for an injected failure).
        /// </summary>
        public QuotaExceededException(string message, Category? category, long requestedBytes,
            long usedBytes, long quotaBytes, Limit? limit, Role? role, string key)
            : base(Membudget.Status.QuotaExceeded, message)
        {
            Category = category;
            RequestedBytes = requestedBytes;
            UsedBytes = usedBytes;
            QuotaBytes = quotaBytes;
            Limit = limit;
            Role = role;
            Key = key;
        }

        /// <summary>The category of the refused request, or null if not known.</summary>
        public Category? Category { get; private set; }

        /// <summary>The bytes the refused request asked for, or -1 if not known.</summary>
        public long RequestedBytes { get; private set; }

        /// <summary>Bytes in use under the limit that refused, when it refused; -1 if not known.</summary>
        public long UsedBytes { get; private set; }

        /// <summary>That limit in bytes (<see cref="long.MaxValue"/>: none), or -1 if not known.</summary>
        public long QuotaBytes { get; private set; }

        /// <summary>Which limit refused, or null if not known.</summary>
        public Limit? Limit { get; private set; }

        /// <summary>Whose configuration keys the message names, or null if not known.</summary>
        public Role? Role { get; private set; }

        /// <summary>The configuration key to raise so such a request fits, or null if not known or injected.</summary>
        public string Key { get; private set; }
    }

    /// <summary><c>MB_ERR_INVALID_ARGUMENT</c>: an argument is out of range (size, count, min above max, ...).</summary>
    public class InvalidArgumentException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public InvalidArgumentException(string message) : base(Membudget.Status.InvalidArgument, message) { }
    }

    /// <summary><c>MB_ERR_NULL_POINTER</c>: a required pointer was NULL (a binding bug: this library never passes one).</summary>
    public class NullArgumentException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public NullArgumentException(string message) : base(Membudget.Status.NullPointer, message) { }
    }

    /// <summary><c>MB_ERR_INVALID_HANDLE</c>: a handle or id is invalid: already disposed, freed or recycled.</summary>
    public class InvalidHandleException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public InvalidHandleException(string message) : base(Membudget.Status.InvalidHandle, message) { }
    }

    /// <summary><c>MB_ERR_DESTROYED</c>: the object was destroyed meanwhile (a pool disposed while a request waited).</summary>
    public class DestroyedException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public DestroyedException(string message) : base(Membudget.Status.Destroyed, message) { }
    }

    /// <summary><c>MB_ERR_TIMEOUT</c>: no buffer was recycled within the timeout of a blocking request.</summary>
    public class RequestTimeoutException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public RequestTimeoutException(string message) : base(Membudget.Status.Timeout, message) { }
    }

    /// <summary><c>MB_ERR_UNAVAILABLE</c>: nothing is available now (backpressure), or the plan has no network memory.</summary>
    public class UnavailableException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public UnavailableException(string message) : base(Membudget.Status.Unavailable, message) { }
    }

    /// <summary><c>MB_ERR_CONFIG</c>: the memory configuration is invalid; the message is Flink's, naming the keys.</summary>
    public class IllegalConfigurationException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public IllegalConfigurationException(string message) : base(Membudget.Status.Config, message) { }
    }

    /// <summary><c>MB_ERR_PANIC</c>: the library caught a panic at its boundary; the runtime stays usable.</summary>
    public class NativePanicException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public NativePanicException(string message) : base(Membudget.Status.Panic, message) { }
    }

    /// <summary><c>MB_ERR_BUFFER_TOO_SMALL</c>: an output buffer was too small (the binding retries with the size asked for).</summary>
    public class BufferTooSmallException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public BufferTooSmallException(string message) : base(Membudget.Status.BufferTooSmall, message) { }
    }

    /// <summary><c>MB_ERR_OUT_OF_MEMORY</c>: the operating system refused memory although the quota allowed it.</summary>
    public class NativeOutOfMemoryException : MemBudgetException
    {
        /// <summary>With the library's message.</summary>
        public NativeOutOfMemoryException(string message) : base(Membudget.Status.OutOfMemory, message) { }
    }
}
