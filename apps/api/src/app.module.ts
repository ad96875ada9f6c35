import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { ApiConfig } from '@fundus/config';
import { InfraModule } from '@fundus/platform';
import type { ObjectStore } from '@fundus/storage';
import { AuthGuard } from './auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { AuditService } from './common/audit.service';
import { ApiExceptionFilter } from './common/exception.filter';
import { DashboardModule } from './dashboard/dashboard.module';
import { SERVICE_PROVIDERS } from './common/services';
import { OBJECT_STORE } from './common/tokens';
import { DocsController } from './docs/docs.controller';
import { HealthController } from './health/health.controller';
import { ReadinessService } from './health/readiness.service';
import { STORAGE_PROBE, storageProbeFor } from './health/storage-probe';
import { MetricsController } from './observability/metrics.controller';
import { MetricsService } from './observability/metrics.service';
import { ApiKeysController } from './resources/api-keys.controller';
import { AuditController } from './resources/audit.controller';
import { DatasetsController } from './resources/datasets.controller';
import { ModelsController } from './resources/models.controller';
import { PredictionsController } from './resources/predictions.controller';
import { RunsController } from './resources/runs.controller';
import { ScheduleController } from './resources/schedule.controller';
import { ScoringJobsController } from './resources/scoring-jobs.controller';
import { SweepsController } from './resources/sweeps.controller';

class StoreShutdown implements OnApplicationShutdown {
  constructor(@Inject(OBJECT_STORE) private readonly store: ObjectStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [InfraModule.forRoot(config), DashboardModule],
      controllers: [
        HealthController,
        DocsController,
        MetricsController,
        ApiKeysController,
        AuditController,
        DatasetsController,
        RunsController,
        SweepsController,
        ModelsController,
        ScoringJobsController,
        PredictionsController,
        ScheduleController,
      ],
      providers: [
        ReadinessService,
        { provide: STORAGE_PROBE, useFactory: () => storageProbeFor(config) },
        AuthService,
        AuditService,
        MetricsService,
        ...SERVICE_PROVIDERS,
        StoreShutdown,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
