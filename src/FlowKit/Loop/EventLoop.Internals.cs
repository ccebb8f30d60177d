using System.Runtime.ExceptionServices;

namespace FlowKit;

public sealed partial class EventLoop
{
    internal readonly struct WorkItem
    {
        private readonly object? _callback;
        private readonly object? _state;

        private WorkItem(object? callback, object? state)
        {
            _callback = callback;
            _state = state;
        }

        public static WorkItem StopMarker => default;

        public bool IsStopMarker => _callback is null;

        public static WorkItem ForAction(Action action) => new(action, null);

        public static WorkItem ForState(Action<object?> action, object? state) => new(action, state);

        public static WorkItem ForPost(SendOrPostCallback callback, object? state) => new(callback, state);

        public static WorkItem ForTask(LoopTaskScheduler scheduler, Task task) => new(scheduler, task);

        public static WorkItem ForTimer(LoopTimer timer) => new(timer, null);

        public void Execute()
        {
            switch (_callback)
            {
                case Action action:
                    action();
                    break;
                case Action<object?> withState:
                    withState(_state);
                    break;
                case SendOrPostCallback post:
                    post(_state);
                    break;
                case LoopTaskScheduler scheduler:
                    scheduler.Execute((Task)_state!);
                    break;
                case LoopTimer timer:
                    timer.Fire();
                    break;
            }
        }

        /// <summary>What a queued item becomes once the loop has closed: task continuations still run (on the thread pool) so their
        /// awaiters never hang; timers are dropped (a pending sleep is cancelled); plain callbacks are dropped, as asyncio does.</summary>
        public void RunAfterClose()
        {
            switch (_callback)
            {
                case SendOrPostCallback or LoopTaskScheduler:
                    ThreadPool.UnsafeQueueUserWorkItem(static w => w.Execute(), this, preferLocal: false);
                    break;
                case LoopTimer timer:
                    timer.Drop();
                    break;
            }
        }
    }

    internal sealed class LoopSynchronizationContext(EventLoop loop) : SynchronizationContext
    {
        public EventLoop Loop => loop;

        public override void Post(SendOrPostCallback d, object? state) => loop.Enqueue(WorkItem.ForPost(d, state), throwIfClosed: false);

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (loop.IsOnLoopThread)
            {
                d(state);
                return;
            }

            using var done = new ManualResetEventSlim();
            Exception? error = null;
            loop.Enqueue(WorkItem.ForAction(() =>
            {
                try
                {
                    d(state);
                }
                catch (Exception ex)
                {
                    error = ex;
                }
                finally
                {
                    done.Set();
                }
            }), throwIfClosed: true);
            done.Wait();
            if (error is not null)
            {
                ExceptionDispatchInfo.Throw(error);
            }
        }

        public override SynchronizationContext CreateCopy() => this;
    }

    internal sealed class LoopTaskScheduler(EventLoop loop) : TaskScheduler
    {
        public override int MaximumConcurrencyLevel => 1;

        internal void Execute(Task task) => TryExecuteTask(task);

        protected override void QueueTask(Task task) => loop.Enqueue(WorkItem.ForTask(this, task), throwIfClosed: false);

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
            loop.IsOnLoopThread && TryExecuteTask(task);

        protected override IEnumerable<Task>? GetScheduledTasks() => null;
    }

    /// <summary>One <see cref="CallAt"/> entry. State moves once from Pending to Fired or Cancelled, so a cancel racing the firing either
    /// wins (the callback never runs) or loses (the callback runs, the cancel does nothing).</summary>
    internal class LoopTimer(EventLoop loop, DateTimeOffset when, Action? callback)
    {
        private const int Pending = 0;
        private const int Fired = 1;
        private const int Cancelled = 2;
        private int _state;

        public DateTimeOffset When => when;

        public bool IsDone => Volatile.Read(ref _state) != Pending;

        public bool IsCancelled => Volatile.Read(ref _state) == Cancelled;

        public EventLoop Loop => loop;

        public void Fire()
        {
            if (Interlocked.CompareExchange(ref _state, Fired, Pending) == Pending)
            {
                OnFire();
            }
        }

        public bool TryCancel() => Interlocked.CompareExchange(ref _state, Cancelled, Pending) == Pending;

        /// <summary>The loop closed before the timer fired.</summary>
        public void Drop()
        {
            if (TryCancel())
            {
                OnDropped();
            }
        }

        protected virtual void OnFire() => callback!();

        protected virtual void OnDropped()
        {
        }
    }
}
