import { Module, type DynamicModule } from '@nestjs/common';
import type { ApiConfig } from '@fundus/config';
import { InfraModule } from '@fundus/platform';
import { HealthController } from './health/health.controller';
import { ReadinessService } from './health/readiness.service';
import { STORAGE_PROBE, storageProbeFor } from './health/storage-probe';

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [InfraModule.forRoot(config)],
      controllers: [HealthController],
      providers: [ReadinessService, { provide: STORAGE_PROBE, useFactory: () => storageProbeFor(config) }],
    };
  }
}
