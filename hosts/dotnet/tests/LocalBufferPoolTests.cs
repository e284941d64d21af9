using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;

namespace Membudget.Tests
{
    public class LocalBufferPoolTests
    {
        // Foreign native code recycling an id behind the library's back (to make a release fail).
        [DllImport("membudget")]
        private static extern int mb_buffer_recycle(ulong id);

        [Test]
        public void BuffersAreSpansOverTheSegment()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 2))
            using (var a = pool.RequestBuffer())
            using (var b = pool.RequestBuffer())
            {
                Span<byte> s = a.Span;
                Assert.Equal(32768, s.Length);
                s.Fill(0x42);
                s[0] = 7;
                // Zero copy: the span's memory is the library's segment.
                Assert.Equal((byte)7, Marshal.ReadByte(a.Address, 0));
                Assert.Equal((byte)0x42, Marshal.ReadByte(a.Address, 32767));
                Assert.True(a.Handle.Id != b.Handle.Id, "distinct ids");
            }
        }

        [Test]
        public void BackpressureIsUnavailableThenTimeout()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 2))
            {
                var a = pool.RequestBuffer();
                var b = pool.RequestBuffer();
                var u = Assert.Throws<UnavailableException>(() => pool.RequestBuffer());
                Assert.Contains("no buffer available (2 of 2 in use)", u.Message);
                var t = Assert.Throws<RequestTimeoutException>(() => pool.RequestBuffer(TimeSpan.FromMilliseconds(10)));
                Assert.Contains("within 10 ms", t.Message);
                Assert.Throws<InvalidArgumentException>(() => pool.RequestBuffer(TimeSpan.FromMilliseconds(-1)));
                Assert.Throws<InvalidArgumentException>(() => pool.RequestBuffer(TimeSpan.FromDays(50)));
                a.Dispose();
                using (var c = pool.RequestBuffer(TimeSpan.FromMilliseconds(100)))
                {
                    Assert.Equal(32768, c.Span.Length);
                }
                b.Dispose();
            }
        }

        [Test]
        public void ARecycledBufferIsInvalidAndARepeatedRecycleIsTheLibrarysError()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 2))
            {
                var a = pool.RequestBuffer();
                a.Recycle();
                Assert.True(a.IsRecycled, "recycled");
                var again = Assert.Throws<InvalidHandleException>(a.Recycle);
                Assert.True(again.Message.StartsWith("invalid buffer id 0x"), again.Message);
                Assert.Contains("already freed or recycled", again.Message);
                a.Dispose(); // nothing to do
                var use = Assert.Throws<InvalidHandleException>(() => { var s = a.Span; });
                Assert.Contains("already recycled", use.Message);
                Assert.Throws<InvalidHandleException>(() => { var p = a.Address; });
                var b = pool.RequestBuffer();
                b.Dispose();
                b.Dispose(); // idempotent
                Assert.Throws<InvalidHandleException>(b.Recycle);
            }
        }

        [Test]
        public void AFailedRecycleIsAnExceptionAndAnEvent()
        {
            var failures = new List<MemBudgetException>();
            EventHandler<MemBudgetException> onFailure = (sender, e) => { lock (failures) failures.Add(e); };
            MemBudget.ReleaseFailed += onFailure;
            try
            {
                using (var budget = Runtimes.Open())
                using (var pool = budget.CreateLocalBufferPool(1, 4))
                {
                    var b = pool.RequestBuffer();
                    Assert.Equal(0, mb_buffer_recycle(b.Handle.Id)); // recycled behind the wrapper's back
                    var e = Assert.Throws<InvalidHandleException>(b.Dispose);
                    Assert.Contains("already freed or recycled", e.Message);
                    lock (failures) Assert.Equal(1, failures.Count);

                    // The same on the finalizer thread: the event is the witness.
                    DropBufferRecycledElsewhere(pool);
                    for (int i = 0; i < 50; i++)
                    {
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                        lock (failures)
                        {
                            if (failures.Count == 2) break;
                        }
                    }
                    lock (failures)
                    {
                        Assert.Equal(2, failures.Count);
                        Assert.Contains("already freed or recycled", failures[1].Message);
                    }
                }
            }
            finally
            {
                MemBudget.ReleaseFailed -= onFailure;
            }
        }

        private static void DropBufferRecycledElsewhere(LocalBufferPool pool)
        {
            var b = pool.RequestBuffer();
            mb_buffer_recycle(b.Handle.Id);
        }

        [Test]
        public void AnUndisposedBufferIsRecycledByTheFinalizer()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 1))
            {
                LeakOneBuffer(pool);
                Buffer again = null;
                for (int i = 0; i < 50 && again == null; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    try
                    {
                        again = pool.RequestBuffer();
                    }
                    catch (UnavailableException)
                    {
                    }
                }
                Assert.True(again != null, "the leaked buffer came back through the finalizer");
                again.Dispose();
            }
        }

        private static void LeakOneBuffer(LocalBufferPool pool)
        {
            Span<byte> s = pool.RequestBuffer().Span;
            s[0] = 1;
        }

        [Test]
        public void ADisposedPoolIsRefusedAndItsLentBuffersSurviveIt()
        {
            using (var budget = Runtimes.Open())
            {
                ulong before = budget.Usage(Category.Network).Used;
                var pool = budget.CreateLocalBufferPool(1, 2);
                var lent = pool.RequestBuffer();
                pool.Dispose();
                pool.Dispose(); // idempotent
                var e = Assert.Throws<InvalidHandleException>(() => pool.RequestBuffer());
                Assert.True(e.Message.StartsWith("invalid local pool handle 0x"), e.Message);
                Assert.Throws<InvalidHandleException>(() => pool.RequestBufferAsync());
                Span<byte> s = lent.Span;
                s[0] = 1; // still valid
                lent.Dispose();
                Assert.Equal(before, budget.Usage(Category.Network).Used);
            }
        }

        [Test]
        public void APoolDisposedOnAnotherThreadIsRefusedOnThisOne()
        {
            using (var budget = Runtimes.Open())
            {
                var pool = budget.CreateLocalBufferPool(1, 2);
                pool.RequestBuffer().Dispose(); // this thread has used (and cached) the pool
                var t = new Thread(pool.Dispose);
                t.Start();
                t.Join();
                var e = Assert.Throws<InvalidHandleException>(() => pool.RequestBuffer());
                Assert.Contains("already freed", e.Message);
            }
        }

        [Test]
        public void DisposingThePoolWakesAWaiterOnAnotherThreadWithDestroyed()
        {
            using (var budget = Runtimes.Open())
            {
                var pool = budget.CreateLocalBufferPool(1, 1);
                var held = pool.RequestBuffer();
                Exception outcome = null;
                var waiter = new Thread(() =>
                {
                    try { pool.RequestBuffer(TimeSpan.FromSeconds(10)).Dispose(); }
                    catch (Exception e) { outcome = e; }
                });
                waiter.Start();
                Thread.Sleep(50);
                pool.Dispose();
                Assert.True(waiter.Join(5000), "the waiter woke");
                Assert.True(outcome is DestroyedException, "" + outcome);
                held.Dispose();
            }
        }

        [Test]
        public void DisposingTheRuntimeOnAnotherThreadLeavesLentBuffersValid()
        {
            var budget = Runtimes.Open();
            var pool = budget.CreateLocalBufferPool(1, 4);
            var lent = pool.RequestBuffer();
            var t = new Thread(budget.Dispose);
            t.Start();
            t.Join();
            // Every request through a pool of the disposed runtime is refused, even with idle
            // buffers.
            var destroyed = Assert.Throws<DestroyedException>(() => pool.RequestBuffer());
            Assert.Contains("destroyed", destroyed.Message);
            Span<byte> s = lent.Span;
            s[0] = 42;
            var recycler = new Thread(lent.Dispose);
            recycler.Start();
            recycler.Join();
            Assert.True(lent.IsRecycled, "recycled on the other thread");
            pool.Dispose(); // pools of a disposed runtime are freed as usual
        }

        [Test]
        public void Threads()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(2, 2))
            {
                int errors = 0;
                var threads = new List<Thread>();
                for (int t = 0; t < 4; t++)
                {
                    byte me = (byte)t;
                    var th = new Thread(() =>
                    {
                        try
                        {
                            for (int i = 0; i < 5000; i++)
                            {
                                using (var buf = pool.RequestBuffer(TimeSpan.FromSeconds(5)))
                                {
                                    Span<byte> bytes = buf.Span;
                                    bytes[0] = me;
                                    if (bytes[0] != me) Interlocked.Increment(ref errors);
                                }
                                budget.Reserve(Category.Heap, 64);
                                budget.Release(Category.Heap, 64);
                            }
                        }
                        catch (Exception e)
                        {
                            Console.Error.WriteLine(e);
                            Interlocked.Increment(ref errors);
                        }
                    });
                    threads.Add(th);
                    th.Start();
                }
                foreach (var th in threads) th.Join();
                Assert.Equal(0, errors);
                Assert.Equal(0UL, budget.Usage(Category.Heap).Used);
            }
        }

        [Test]
        public void AsyncRequestCompletesWhenAnotherThreadRecycles()
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 1))
            {
                var held = pool.RequestBuffer();
                var next = pool.RequestBufferAsync();
                Assert.True(!next.IsCompleted, "registered, not yet called");
                var recycler = new Thread(held.Dispose);
                recycler.Start();
                Assert.True(next.Wait(5000), "completed");
                recycler.Join();
                using (var b = next.Result)
                {
                    Assert.Equal(32768, b.Capacity);
                }
                var now = pool.RequestBufferAsync();
                Assert.True(now.Wait(5000), "available at once");
                now.Result.Dispose();
            }
        }

        [Test]
        public void AsyncRequestFaultsWithDestroyedWhenThePoolIsDisposed()
        {
            using (var budget = Runtimes.Open())
            {
                var pool = budget.CreateLocalBufferPool(1, 1);
                var held = pool.RequestBuffer();
                var next = pool.RequestBufferAsync();
                pool.Dispose();
                var e = Assert.Throws<AggregateException>(() => next.Wait(5000));
                Assert.True(e.InnerException is DestroyedException, "" + e.InnerException);
                Assert.Contains("was destroyed", e.InnerException.Message);
                held.Dispose();
            }
        }
    }
}
