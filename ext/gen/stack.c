/*
** stack.c — exception stack traces in the style of each runtime, built once
** per (operation, error) when a system is loaded.
**
** Real exception.stacktrace attributes are long, multi-line and highly
** repetitive (the same failure prints the same frames), which is exactly
** what a trace store must compress well; a few application frames named
** after the service and operation above a fixed stack of framework frames
** reproduce that.  Line numbers are hashed from the names, so a stack is
** stable across runs and seeds.  The rendered text is
**     pre + ("type: message" if with_msg) + post
** with the message filled in per span, as it may vary.
*/
#include <string.h>

#include "../common/buf.h"
#include "gen_internal.h"

/* "product-catalog" -> "ProductCatalog"; lower_first: "productCatalog". */
static void camel(tl_buf *b, const char *s, int lower_first) {
  int up = !lower_first, first = 1;
  for (; *s; s++) {
    char c = *s;
    if (c == '-' || c == '_' || c == '.' || c == ' ' || c == '/') {
      up = 1;
      continue;
    }
    if (first && lower_first && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    else if (up && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
    tl_buf_putc(b, c);
    up = 0;
    first = 0;
  }
}

/* "product-catalog" -> "product_catalog" (Python, Ruby, Rust, PHP paths). */
static void snake(tl_buf *b, const char *s) {
  for (int prev_lower = 0; *s; s++) {
    char c = *s;
    if (c == '-' || c == '.' || c == ' ' || c == '/') c = '_';
    if (c >= 'A' && c <= 'Z') {
      if (prev_lower) tl_buf_putc(b, '_');
      c = (char)(c - 'A' + 'a');
    }
    prev_lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    tl_buf_putc(b, c);
  }
}

static unsigned line_no(const char *a, const char *b, unsigned salt) {
  uint64_t h = tl_hash(a, strlen(a)) ^ (tl_hash(b, strlen(b)) * 31) ^ salt;
  return (unsigned)(tl_mix64(h) % 480) + 20;
}

/* Framework frames below the application's, per style. */
static const char *const java_frames =
    "\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)\n"
    "\tat io.grpc.internal.ServerImpl$JumpToApplicationThreadServerStreamListener$1HalfClosed.runInContext(ServerImpl.java:356)\n"
    "\tat io.grpc.internal.ContextRunnable.run(ContextRunnable.java:37)\n"
    "\tat io.grpc.internal.SerializingExecutor.run(SerializingExecutor.java:133)\n"
    "\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1144)\n"
    "\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:642)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:1583)";
static const char *const go_frames =
    "google.golang.org/grpc.(*Server).processUnaryRPC(0xc0001c6000, {0x1a2b3c0, 0xc0004a2f00}, {0x1a35d40, 0xc000512000}, 0xc0002d4120, 0xc0001f8a20, 0x25f0a40, 0x0)\n"
    "\t/go/pkg/mod/google.golang.org/grpc@v1.68.1/server.go:1394 +0xe2b\n"
    "google.golang.org/grpc.(*Server).handleStream(0xc0001c6000, {0x1a35d40, 0xc000512000}, 0xc0002d4120)\n"
    "\t/go/pkg/mod/google.golang.org/grpc@v1.68.1/server.go:1805 +0xe8b\n"
    "created by google.golang.org/grpc.(*Server).serveStreams.func2 in goroutine 58\n"
    "\t/go/pkg/mod/google.golang.org/grpc@v1.68.1/server.go:1029 +0x139";
static const char *const python_frames =
    "  File \"/usr/local/lib/python3.12/site-packages/grpc/_server.py\", line 555, in _call_behavior\n"
    "    response_or_iterator = behavior(argument, context)\n"
    "                           ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "  File \"/usr/local/lib/python3.12/site-packages/opentelemetry/instrumentation/grpc/_server.py\", line 322, in telemetry_interceptor\n"
    "    return behavior(request_or_iterator, context)\n";
static const char *const node_frames =
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n"
    "    at async Object.handler (/app/node_modules/@grpc/grpc-js/build/src/server.js:1187:13)\n"
    "    at async Server.onStreamData (/app/node_modules/@grpc/grpc-js/build/src/server-interceptors.js:772:18)";
static const char *const dotnet_frames =
    "   at Grpc.AspNetCore.Server.Internal.CallHandlers.UnaryServerCallHandler`3.HandleCallAsyncCore(HttpContext httpContext, HttpContextServerCallContext serverCallContext)\n"
    "   at Grpc.AspNetCore.Server.Internal.CallHandlers.ServerCallHandlerBase`3.<HandleCallAsync>g__AwaitHandleCall|8_0(HttpContextServerCallContext serverCallContext, Method`2 method, Task handleCall)\n"
    "   at Microsoft.AspNetCore.Routing.EndpointMiddleware.<Invoke>g__AwaitRequestTask|7_0(Endpoint endpoint, Task requestTask, ILogger logger)\n"
    "   at Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol.ProcessRequests[TContext](IHttpApplication`1 application)";
static const char *const ruby_frames =
    "/usr/local/bundle/gems/sinatra-4.1.1/lib/sinatra/base.rb:1786:in `block in compile!'\n"
    "/usr/local/bundle/gems/sinatra-4.1.1/lib/sinatra/base.rb:1144:in `route_eval'\n"
    "/usr/local/bundle/gems/rack-3.1.8/lib/rack/method_override.rb:28:in `call'\n"
    "/usr/local/bundle/gems/puma-6.5.0/lib/puma/thread_pool.rb:167:in `block in spawn_thread'";
static const char *const php_frames =
    "#2 /var/www/vendor/slim/slim/Slim/Handlers/Strategies/RequestResponse.php(38): {closure}()\n"
    "#3 /var/www/vendor/slim/slim/Slim/Routing/Route.php(358): Slim\\Handlers\\Strategies\\RequestResponse->__invoke()\n"
    "#4 /var/www/vendor/slim/slim/Slim/MiddlewareDispatcher.php(65): Slim\\Routing\\Route->handle()\n"
    "#5 /var/www/public/index.php(42): Slim\\App->run()\n"
    "#6 {main}";
static const char *const rust_frames =
    "   4: tower::util::map_response::MapResponseFuture::poll\n"
    "   5: hyper::proto::h1::dispatch::Dispatcher::poll_catch\n"
    "   6: tokio::runtime::task::core::Core::poll\n"
    "   7: tokio::runtime::scheduler::multi_thread::worker::Context::run_task\n"
    "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.";
static const char *const cpp_frames =
    "#2 0x00005581c3a4b2f1 in grpc::internal::RpcMethodHandler::RunHandler(grpc::internal::MethodHandler::HandlerParameter const&)\n"
    "#3 0x00005581c3a7e0c4 in grpc::Server::SyncRequest::ContinueRunAfterInterception()\n"
    "#4 0x00005581c3a9f3a8 in grpc::ThreadManager::MainWorkLoop()\n"
    "#5 0x00007f3e8c2a1ac3 in start_thread (arg=<optimized out>) at ./nptl/pthread_create.c:442";

void gen_stack_build(int style, const char *service, const char *op, tl_buf *pre,
                     tl_buf *post, int *with_msg) {
  unsigned l1 = line_no(service, op, 1), l2 = line_no(service, op, 2);
  *with_msg = 1;
  switch (style) {
    case STACK_JAVA:
      tl_buf_puts(post, "\n\tat com.shop.");
      snake(post, service);
      tl_buf_putc(post, '.');
      camel(post, service, 0);
      tl_buf_puts(post, "Service.");
      camel(post, op, 1);
      tl_buf_putc(post, '(');
      camel(post, service, 0);
      tl_buf_printf(post, "Service.java:%u)\n\tat com.shop.", l1);
      snake(post, service);
      tl_buf_putc(post, '.');
      camel(post, service, 0);
      tl_buf_puts(post, "Grpc$MethodHandlers.invoke(");
      camel(post, service, 0);
      tl_buf_printf(post, "Grpc.java:%u)\n", l2);
      tl_buf_puts(post, java_frames);
      break;
    case STACK_GO:
      *with_msg = 0;
      tl_buf_printf(pre, "goroutine %u [running]:\nmain.(*", l1 * 7);
      camel(pre, service, 1);
      tl_buf_puts(pre, "Service).");
      camel(pre, op, 0);
      tl_buf_printf(pre, "(0xc000286000, {0x1a2b3c0, 0xc0003a1b00}, 0xc0001d2000)\n"
                         "\t/usr/src/app/main.go:%u +0x%x\n", l1, l2 * 3);
      tl_buf_puts(pre, go_frames);
      break;
    case STACK_PYTHON:
      tl_buf_puts(pre, "Traceback (most recent call last):\n");
      tl_buf_puts(pre, python_frames);
      tl_buf_puts(pre, "  File \"/app/");
      snake(pre, service);
      tl_buf_printf(pre, "_server.py\", line %u, in ", l1);
      camel(pre, op, 0);
      tl_buf_puts(pre, "\n    result = self._");
      snake(pre, op);
      tl_buf_puts(pre, "(request)\n             ^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/app/");
      snake(pre, service);
      tl_buf_printf(pre, "_server.py\", line %u, in _", l2);
      snake(pre, op);
      tl_buf_puts(pre, "\n    raise\n");
      break;
    case STACK_NODE:
      tl_buf_puts(post, "\n    at ");
      camel(post, op, 1);
      tl_buf_puts(post, " (/app/");
      tl_buf_puts(post, service);
      tl_buf_printf(post, "/index.js:%u:%u)\n    at /app/", l1, l2 % 40 + 3);
      tl_buf_puts(post, service);
      tl_buf_printf(post, "/index.js:%u:%u\n", l2, l1 % 30 + 5);
      tl_buf_puts(post, node_frames);
      break;
    case STACK_DOTNET:
      tl_buf_puts(post, "\n   at ");
      camel(post, service, 0);
      tl_buf_puts(post, ".Services.");
      camel(post, service, 0);
      tl_buf_puts(post, "Service.");
      camel(post, op, 0);
      tl_buf_puts(post, "(Request request, ServerCallContext context) in /app/src/Services/");
      camel(post, service, 0);
      tl_buf_printf(post, "Service.cs:line %u\n", l1);
      tl_buf_puts(post, dotnet_frames);
      break;
    case STACK_RUBY:
      tl_buf_puts(post, "\n/app/");
      snake(post, service);
      tl_buf_printf(post, ".rb:%u:in `", l1);
      snake(post, op);
      tl_buf_puts(post, "'\n/app/");
      snake(post, service);
      tl_buf_printf(post, ".rb:%u:in `block in <class:App>'\n", l2);
      tl_buf_puts(post, ruby_frames);
      break;
    case STACK_PHP:
      tl_buf_puts(post, " in /var/www/src/");
      camel(post, service, 0);
      tl_buf_printf(post, "/Handler.php:%u\nStack trace:\n#0 /var/www/src/", l1);
      camel(post, service, 0);
      tl_buf_printf(post, "/Handler.php(%u): App\\", l2);
      camel(post, service, 0);
      tl_buf_puts(post, "\\Handler->");
      camel(post, op, 1);
      tl_buf_puts(post, "()\n#1 [internal function]: App\\");
      camel(post, service, 0);
      tl_buf_puts(post, "\\Handler->__invoke()\n");
      tl_buf_puts(post, php_frames);
      break;
    case STACK_RUST:
      tl_buf_puts(pre, "thread 'tokio-runtime-worker' panicked at src/");
      snake(pre, op);
      tl_buf_printf(pre, ".rs:%u:%u:\n", l1, l2 % 60 + 9);
      tl_buf_puts(post, "\nstack backtrace:\n   0: rust_begin_unwind\n   1: core::panicking::panic_fmt\n   2: ");
      snake(post, service);
      tl_buf_puts(post, "::");
      snake(post, op);
      tl_buf_puts(post, "::{{closure}}\n   3: ");
      snake(post, service);
      tl_buf_puts(post, "::handlers::");
      snake(post, op);
      tl_buf_putc(post, '\n');
      tl_buf_puts(post, rust_frames);
      break;
    default: /* STACK_CPP */
      tl_buf_puts(post, "\n#0 0x00005581c39f1a2e in ");
      camel(post, service, 0);
      tl_buf_puts(post, "ServiceImpl::");
      camel(post, op, 0);
      tl_buf_puts(post, "(grpc::ServerContext*, const Request*, Response*)\n#1 0x00005581c3a4b1d0 in ");
      camel(post, service, 0);
      tl_buf_printf(post, "::Service::Handle() at /app/src/server.cpp:%u\n", l1);
      tl_buf_puts(post, cpp_frames);
      break;
  }
}
