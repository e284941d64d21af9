namespace Membudget
{
    /// <summary>The C status codes of <c>membudget.h</c> and the exception each becomes.</summary>
    internal static class Status
    {
        internal const int Ok = 0;
        internal const int QuotaExceeded = -1;
        internal const int InvalidArgument = -2;
        internal const int NullPointer = -3;
        internal const int InvalidHandle = -4;
        internal const int Destroyed = -5;
        internal const int Timeout = -6;
        internal const int Unavailable = -7;
        internal const int Config = -8;
        internal const int Panic = -9;
        internal const int BufferTooSmall = -10;
        internal const int OutOfMemory = -11;

        /// <summary>The exception for <paramref name="status"/>; quota refusals name the request.</summary>
        internal static MemBudgetException Exception(int status, string message, Category? category = null, long requestedBytes = -1)
        {
            switch (status)
            {
                case QuotaExceeded: return new QuotaExceededException(message, category, requestedBytes);
                case InvalidArgument: return new InvalidArgumentException(message);
                case NullPointer: return new NullArgumentException(message);
                case InvalidHandle: return new InvalidHandleException(message);
                case Destroyed: return new DestroyedException(message);
                case Timeout: return new RequestTimeoutException(message);
                case Unavailable: return new UnavailableException(message);
                case Config: return new IllegalConfigurationException(message);
                case Panic: return new NativePanicException(message);
                case BufferTooSmall: return new BufferTooSmallException(message);
                case OutOfMemory: return new NativeOutOfMemoryException(message);
                // A newer library with a status this binding does not know: still an exception.
                default: return new MemBudgetException(status, message);
            }
        }

        /// <summary>Throws the exception for a failed call, with the calling thread's last error.</summary>
        internal static void Check(int rc)
        {
            if (rc != Ok)
            {
                throw Failure(rc);
            }
        }

        /// <summary>
        /// The exception for <paramref name="status"/>, just returned by a call on this thread:
        /// with the library's message and, for a quota refusal, the refusal's facts
        /// (<c>mb_last_refusal</c>); <paramref name="category"/> and
        /// <paramref name="requestedBytes"/> are what the call asked for, used if the library has
        /// no details.
        /// </summary>
        internal static MemBudgetException Failure(int status, Category? category = null, long requestedBytes = -1)
        {
            string message = NativeMethods.LastErrorMessage();
            if (status == QuotaExceeded)
            {
                var refusal = NativeMethods.LastRefusal(message);
                if (refusal != null)
                {
                    return refusal;
                }
            }
            return Exception(status, message, category, requestedBytes);
        }
    }
}
