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
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
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

    internal sealed class LoopTimer(EventLoop loop, DateTimeOffset when, Action callback)
    {
        public DateTimeOffset When => when;

        public bool IsCancelled { get; set; }

        public EventLoop Loop => loop;

        public void Fire()
        {
            if (!IsCancelled)
            {
                IsCancelled = true;
                callback();
            }
        }
    }
}
